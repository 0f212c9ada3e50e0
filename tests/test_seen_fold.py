"""A narrative's first and last seen, folded into the per-narrative totals like its sighting count
(migrations/0019_seen_totals.sql, service/repo/stats.py `fold`): exact at every moment, before
and after a fold, and read without touching sightings unless a pending delta is marked."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from service.repo import narratives, sightings, stats, timeline
from service.repo.pages import Page
from tests.factories import create_narrative, create_sighting, sighting_body


def at(day: int) -> str:
    return f"2024-03-{day:02d}T12:00:00Z"


def truth(conn, narrative_id) -> tuple[str | None, str | None]:
    """First and last seen straight from the sightings."""
    row = conn.execute(
        "SELECT min(observed_at) AS lo, max(observed_at) AS hi FROM sightings"
        " WHERE narrative_id = %(id)s AND status <> 'false_positive'",
        {"id": narrative_id},
    ).fetchone()
    return _stamp(row["lo"]), _stamp(row["hi"])


def _stamp(moment: datetime | None) -> str | None:
    return moment and moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seen(client, conn, narrative: dict[str, Any]) -> tuple[str | None, str | None]:
    """First and last seen as each reader says them (GET one, the list, the timeline's span),
    all equal to what the sightings say."""
    one = client.get(f"/v1/narratives/{narrative['slug']}").get_json()
    listed = client.get("/v1/narratives?limit=200").get_json()["items"]
    item = next(n for n in listed if n["id"] == narrative["id"])
    span = timeline.span(conn, uuid.UUID(narrative["id"]))
    stamp = {k: _stamp(span[k]) for k in ("first_seen_at", "last_seen_at")}
    readings = {
        "one": (one["first_seen_at"], one["last_seen_at"]),
        "list": (item["first_seen_at"], item["last_seen_at"]),
        "span": (stamp["first_seen_at"], stamp["last_seen_at"]),
    }
    exact = truth(conn, narrative["id"])
    assert readings == dict.fromkeys(readings, exact)
    return exact


def check(client, conn, narrative, expected) -> None:
    """Exact before a fold, after it, and with no delta left."""
    assert seen(client, conn, narrative) == expected
    stats.fold(conn)
    assert conn.execute("SELECT count(*) AS n FROM narrative_sighting_deltas").fetchone()["n"] == 0
    assert seen(client, conn, narrative) == expected


def test_first_and_last_seen_follow_inserts_reviews_moves_deletions_and_redating(client, conn):
    """Mutations, each made once and seen to fail here:
    - the insert trigger records no min/max (NULL for both): wrong before the first fold;
    - the update trigger marks nothing stale (bool_or(change < 0) -> false): flagging the
      earliest sighting leaves the old first seen;
    - the delete trigger marks nothing stale: the deleted sighting stays first seen;
    - the update trigger records no min/max for what it adds: un-flagging and a move in are
      missed until the next fold;
    - fold() assigns the batch's min/max instead of least/greatest: a later insert's fold
      overwrites an earlier first seen;
    - fold() skips the recompute of marked narratives: wrong after the fold;
    - the readers ignore seen_stale (always least/greatest): wrong before the fold."""
    a = create_narrative(client)
    b = create_narrative(client)
    assert seen(client, conn, a) == (None, None)

    # Inserts in several statements: one, then a batch of two, then one more.
    create_sighting(client, a["slug"], observed_at=at(10))
    batch = [sighting_body(a["slug"], observed_at=at(day)) for day in (5, 20)]
    assert client.post("/v1/sightings", json={"sightings": batch}).status_code == 200
    latest = client.get(
        "/v1/sightings", query_string={"narrative": a["slug"], "limit": 1}
    ).get_json()["items"][0]
    assert seen(client, conn, a) == (at(5), at(20))
    create_sighting(client, a["slug"], observed_at=at(15))
    check(client, conn, a, (at(5), at(20)))
    # An insert on top of folded totals: lowers the first seen, before and after its fold.
    earliest = create_sighting(client, a["slug"], observed_at=at(1))
    check(client, conn, a, (at(1), at(20)))
    create_sighting(client, a["slug"], observed_at=at(25))
    check(client, conn, a, (at(1), at(25)))
    last = client.get(
        "/v1/sightings", query_string={"narrative": a["slug"], "limit": 1}
    ).get_json()["items"][0]

    # The earliest flagged as a false positive: the first seen moves later.
    client.patch(f"/v1/sightings/{earliest['id']}", json={"status": "false_positive"})
    check(client, conn, a, (at(5), at(25)))

    # The latest moved to another narrative: it leaves one and arrives in the other.
    client.patch(f"/v1/sightings/{last['id']}", json={"narrative": b["slug"]})
    assert seen(client, conn, b) == (at(25), at(25))
    check(client, conn, a, (at(5), at(20)))
    assert seen(client, conn, b) == (at(25), at(25))

    # A deletion of the earliest (the API archives narratives but has no DELETE of a sighting;
    # a maintainer's SQL may delete one).
    first = conn.execute(
        "SELECT id FROM sightings WHERE narrative_id = %(id)s AND observed_at = %(at)s",
        {"id": a["id"], "at": at(5)},
    ).fetchone()["id"]
    conn.execute("DELETE FROM sightings WHERE id = %(id)s", {"id": first})
    check(client, conn, a, (at(10), at(20)))

    # Re-dated: the latest sighting said to be earlier than it was.
    client.patch(f"/v1/sightings/{latest['id']}", json={"observed_at": at(12)})
    check(client, conn, a, (at(10), at(15)))

    # Un-flagged: the first seen moves back to it.
    client.patch(f"/v1/sightings/{earliest['id']}", json={"status": "confirmed"})
    check(client, conn, a, (at(1), at(15)))

    # Every sighting gone: no first or last seen, and the count says 0.
    conn.execute("DELETE FROM sightings WHERE narrative_id = %(id)s", {"id": a["id"]})
    check(client, conn, a, (None, None))
    assert client.get(f"/v1/narratives/{a['slug']}").get_json()["sighting_count"] == 0


def test_an_edit_that_moves_nothing_appends_no_delta(client, conn):
    """Mutation: the update trigger counts every updated row as taken away and added back (no
    pairing by id): each edit of a quote appends a marked delta and sends readers to the
    index until the next fold."""
    narrative = create_narrative(client)
    made = create_sighting(client, narrative["slug"], observed_at=at(3))
    stats.fold(conn)

    client.patch(f"/v1/sightings/{made['id']}", json={"quote": "another quote"})
    client.patch(f"/v1/sightings/{made['id']}", json={"status": "confirmed"})

    assert conn.execute("SELECT count(*) AS n FROM narrative_sighting_deltas").fetchone()["n"] == 0
    assert seen(client, conn, narrative) == (at(3), at(3))


# ------------------------------------------------------------------------------ what is read


class Explained:
    """A connection whose statements run under EXPLAIN (ANALYZE, FORMAT JSON)."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, query, params=None):
        query = query if isinstance(query, sql.Composable) else sql.SQL(query)
        return self.conn.execute(sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query, params)


def sightings_scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name") == "sightings" or plan.get("Index Name") == "sightings_seen_idx":
        yield plan
    for child in plan.get("Plans", []):
        yield from sightings_scans(child)


def executed_scans_of_sightings(conn, read) -> list[int]:
    """How many times each scan of sightings in `read`'s plan ran."""
    [row] = read(Explained(conn))
    scans = list(sightings_scans(row["QUERY PLAN"][0]["Plan"]))
    return [scan["Actual Loops"] for scan in scans if scan["Actual Loops"] > 0]


READS = {
    "list": lambda c, n: narratives.list_page(c, Page(50)),
    "one": lambda c, n: [narratives.get(c, uuid.UUID(n["id"]))],
    "span": lambda c, n: [timeline.span(c, uuid.UUID(n["id"]))],
}


def test_the_reads_do_not_touch_sightings_unless_a_marked_delta_is_pending(client, conn):
    """Mutation: `_SELECT` and span() back to the two probes of sightings_seen_idx per
    narrative (the code before migration 0019): every read executes them. And the fallback
    itself: with a flagged sighting pending, the reads do probe (exact, per the test above)."""
    narrative = create_narrative(client)
    for day in (2, 9):
        create_sighting(client, narrative["slug"], observed_at=at(day))
    # Unfolded, folded, and unfolded on top: none reads sightings.
    for name, read in READS.items():
        assert executed_scans_of_sightings(conn, lambda c, r=read: r(c, narrative)) == [], name
    stats.fold(conn)
    create_sighting(client, narrative["slug"], observed_at=at(1))
    for name, read in READS.items():
        assert executed_scans_of_sightings(conn, lambda c, r=read: r(c, narrative)) == [], name

    made = client.get(
        "/v1/sightings", query_string={"narrative": narrative["slug"], "limit": 1}
    ).get_json()["items"][0]
    client.patch(f"/v1/sightings/{made['id']}", json={"status": "false_positive"})
    for name, read in READS.items():
        assert executed_scans_of_sightings(conn, lambda c, r=read: r(c, narrative)), name

    stats.fold(conn)
    for name, read in READS.items():
        assert executed_scans_of_sightings(conn, lambda c, r=read: r(c, narrative)) == [], name


# ------------------------------------------------------------------------ a concurrent writer


class Between:
    """A connection that runs `hook` once, after the first statement sent through it."""

    def __init__(self, conn, hook):
        self.conn, self.hook, self.sent = conn, hook, 0

    def execute(self, query, params=None):
        result = self.conn.execute(query, params)
        self.sent += 1
        if self.sent == 1:
            self.hook()
        return result


@pytest.fixture
def committed(migrated_database) -> Iterator[str]:
    with migrated_database("seenfold") as url:
        yield url


def test_deltas_committed_while_the_fold_runs_are_kept(committed):
    """A writer commits between the fold's two statements, into a narrative the fold
    recomputes: a later sighting, and the earliest one flagged as a false positive. Its deltas
    stay for the next round, and first and last seen are exact after each fold.
    Mutation: fold() recomputes the marked narratives before it deletes and folds the deltas
    (the writer commits after its first statement): deltas folded after the recompute bring
    back the time of the sighting flagged meanwhile as the first seen."""

    def connect():
        return psycopg.connect(committed, row_factory=dict_row, autocommit=True)

    def day(n: int) -> datetime:
        return datetime(2024, 3, n, 12, tzinfo=UTC)

    with connect() as setup:
        fields = {
            "slug": "concurrent",
            "title": "T",
            "summary": "S",
            "keywords": [],
            "tags": [],
            "status": "active",
            "parent_id": None,
        }
        narrative_id = narratives.insert(setup, fields, by=None)

        def add(conn, n: int) -> uuid.UUID:
            item = {
                "narrative_id": narrative_id,
                "observed_at": day(n),
                "url": f"https://concurrent.example/{n}",
                "source": {"name": "s", "kind": "outlet"},
                "actor": None,
                "quote": None,
                "language": "en",
                "country": None,
                "external_id": None,
                "confidence": None,
            }
            return sightings.insert(conn, item, by="test")[0]

        def flag(conn, id_: uuid.UUID) -> None:
            conn.execute(
                "UPDATE sightings SET status = 'false_positive' WHERE id = %(id)s", {"id": id_}
            )

        ten = add(setup, 10)
        add(setup, 20)
        flag(setup, add(setup, 5))  # a marked delta: this fold recomputes the narrative

        def writer_commits():
            with connect() as writer, writer.transaction():
                add(writer, 25)
                flag(writer, ten)

        def seen() -> tuple[datetime, datetime]:
            row = narratives.get(setup, narrative_id)
            return row["first_seen_at"], row["last_seen_at"]

        with connect() as worker, worker.transaction():
            stats.fold(Between(worker, writer_commits))
        assert seen() == (day(20), day(25))
        with connect() as worker, worker.transaction():
            stats.fold(worker)
        assert seen() == (day(20), day(25))
        deltas = setup.execute("SELECT count(*) AS n FROM narrative_sighting_deltas").fetchone()
        assert deltas["n"] == 0
