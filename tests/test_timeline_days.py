"""Timelines by day and week read a per-narrative, per-UTC-day rollup and the deltas not yet folded
into it (migrations/0022_timeline_days.sql, service/repo/timeline.py): exact at every moment,
before and after a fold, in any session time zone; ingest into one narrative's day never waits
on another writer; the migration's backfill counts what was there before it."""

import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from service.domain.stats import bucket_start
from service.ops import migrate
from service.repo import narratives, sightings, stats, timeline
from tests.factories import create_narrative, create_sighting, sighting_body

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
LO = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
HI = LO + timedelta(weeks=2)


def truth(conn, narrative_id, unit: str) -> list[tuple[str, int, dict, dict]]:
    """The buckets as counted straight from the sightings, in Python."""
    rows = conn.execute(
        "SELECT observed_at, source_kind, language FROM sightings"
        " WHERE narrative_id = %(id)s AND status <> 'false_positive'",
        {"id": narrative_id},
    ).fetchall()
    kinds: dict[datetime, Counter] = {}
    languages: dict[datetime, Counter] = {}
    for row in rows:
        start = bucket_start(row["observed_at"], unit)
        kinds.setdefault(start, Counter())[row["source_kind"]] += 1
        languages.setdefault(start, Counter())[row["language"].lower()] += 1
    step = timedelta(days=1 if unit == "day" else 7)
    starts = [LO + step * i for i in range((HI - LO) // step)]
    return [
        (
            start.isoformat(),
            sum(kinds.get(start, Counter()).values()),
            dict(kinds.get(start, Counter())),
            dict(languages.get(start, Counter())),
        )
        for start in starts
    ]


def read(conn, narrative_id, unit: str) -> list[tuple[str, int, dict, dict]]:
    rows = timeline.buckets(conn, narrative_id, unit=unit, lo=LO, hi=HI)
    return [
        (
            row["start"].astimezone(UTC).isoformat(),
            row["sightings"],
            row["by_source_kind"],
            row["by_language"],
        )
        for row in rows
    ]


def check(conn, narrative_id) -> None:
    """Exact before a fold and after it; the fold leaves no delta and no empty cell."""
    for unit in ("day", "week"):
        assert read(conn, narrative_id, unit) == truth(conn, narrative_id, unit), unit
    timeline.fold(conn)
    left = conn.execute(
        "SELECT (SELECT count(*) FROM narrative_day_deltas) AS deltas,"
        "       (SELECT count(*) FROM narrative_days WHERE sightings = 0) AS empty"
    ).fetchone()
    assert left == {"deltas": 0, "empty": 0}
    for unit in ("day", "week"):
        assert read(conn, narrative_id, unit) == truth(conn, narrative_id, unit), unit


def test_days_follow_inserts_reviews_moves_edits_and_deletions(client, conn):
    """Mutations, each made once and seen to fail here:
    - the update branch of the trigger adds the new rows but takes nothing away: a move, a
      review as false positive and a re-dating count twice;
    - the delete branch appends nothing: a deleted sighting still counts;
    - the reader keeps cells that add up to 0: a kind whose only sighting was flagged shows 0;
    - fold() keeps cells that add up to 0: an empty cell is left behind;
    - days cut in the session's time zone (date_trunc without 'UTC'), here Asia/Kolkata: a
      sighting at 20:00 UTC lands on the next day."""
    conn.execute("SET TIME ZONE 'Asia/Kolkata'")
    a = create_narrative(client)
    b = create_narrative(client)
    a_id, b_id = uuid.UUID(a["id"]), uuid.UUID(b["id"])
    check(conn, a_id)

    create_sighting(client, a["slug"], observed_at="2024-03-04T20:00:00Z")
    batch = [
        sighting_body(a["slug"], observed_at="2024-03-05T01:00:00Z", language="EN"),
        sighting_body(a["slug"], observed_at="2024-03-05T23:59:59Z", language="en"),
        sighting_body(
            a["slug"], observed_at="2024-03-11T00:00:00Z", source={"name": "X", "kind": "channel"}
        ),
    ]
    assert client.post("/v1/sightings", json={"sightings": batch}).status_code == 200
    check(conn, a_id)
    channel = create_sighting(
        client,
        a["slug"],
        observed_at="2024-03-12T10:00:00Z",
        source={"name": "Y", "kind": "account"},
    )
    other = create_sighting(client, a["slug"], observed_at="2024-03-06T10:00:00Z")

    # Reviewed as a false positive: the only `account` sighting of its day leaves the counts.
    client.patch(f"/v1/sightings/{channel['id']}", json={"status": "false_positive"})
    check(conn, a_id)
    # Reviewed back, then confirmed (a review that changes no count appends nothing).
    client.patch(f"/v1/sightings/{channel['id']}", json={"status": "unreviewed"})
    before = conn.execute("SELECT count(*) AS n FROM narrative_day_deltas").fetchone()["n"]
    client.patch(f"/v1/sightings/{channel['id']}", json={"status": "confirmed"})
    after = conn.execute("SELECT count(*) AS n FROM narrative_day_deltas").fetchone()["n"]
    assert after == before
    check(conn, a_id)

    # Moved to another narrative, re-dated, re-tagged in language and kind.
    client.patch(f"/v1/sightings/{other['id']}", json={"narrative": b["slug"]})
    check(conn, a_id)
    check(conn, b_id)
    client.patch(
        f"/v1/sightings/{channel['id']}",
        json={"observed_at": "2024-03-15T12:00:00Z", "language": "uk"},
    )
    check(conn, a_id)

    # A deletion (a maintainer's SQL: the API has no DELETE of a sighting), then all of them.
    conn.execute(
        "DELETE FROM sightings WHERE narrative_id = %(id)s AND observed_at = %(at)s",
        {"id": a_id, "at": datetime(2024, 3, 4, 20, tzinfo=UTC)},
    )
    check(conn, a_id)
    conn.execute("DELETE FROM sightings WHERE narrative_id = %(id)s", {"id": a_id})
    check(conn, a_id)
    assert (
        conn.execute(
            "SELECT count(*) AS n FROM narrative_days WHERE narrative_id = %(id)s", {"id": a_id}
        ).fetchone()["n"]
        == 0
    )


def test_the_api_timeline_reads_the_rollup_by_day_and_week(client, conn):
    """The HTTP answer adds folded cells and pending deltas alike (the reader's UNION).
    Mutation: reading narrative_days alone (no deltas) loses the sighting posted after the
    fold."""
    n = create_narrative(client)
    create_sighting(client, n["slug"], observed_at="2024-03-05T10:00:00Z")
    timeline.fold(conn)
    create_sighting(client, n["slug"], observed_at="2024-03-05T11:00:00Z", language="uk")
    for interval, expected in (("day", 2), ("week", 2)):
        body = client.get(
            f"/v1/narratives/{n['slug']}/timeline",
            query_string={
                "interval": interval,
                "from": "2024-03-04T00:00:00Z",
                "to": "2024-03-10T00:00:00Z",
            },
        ).get_json()
        counted = [b for b in body["buckets"] if b["sightings"]]
        assert [b["sightings"] for b in counted] == [expected]
        assert counted[0]["by_language"] == {"ru": 1, "uk": 1}


# ------------------------------------------------------------------------ concurrent writers


@pytest.fixture
def committed(migrated_database) -> Iterator[str]:
    with migrated_database("timelinedays") as url:
        yield url


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, row_factory=dict_row, autocommit=True)


def _narrative(conn) -> uuid.UUID:
    fields = {
        "slug": f"days-{uuid.uuid4().hex[:8]}",
        "title": "T",
        "summary": "S",
        "keywords": [],
        "tags": [],
        "status": "active",
        "parent_id": None,
    }
    return narratives.insert(conn, fields, by=None)


def _add(conn, narrative_id: uuid.UUID, at: datetime, n: int) -> None:
    item = {
        "narrative_id": narrative_id,
        "observed_at": at,
        "url": f"https://days.example/{uuid.uuid4()}/{n}",
        "source": {"name": "s", "kind": "outlet"},
        "actor": None,
        "quote": None,
        "language": "en",
        "country": None,
        "external_id": None,
        "confidence": None,
    }
    sightings.insert(conn, item, by="test")


def test_writers_into_one_narrative_day_never_wait_on_each_other(committed):
    """Two transactions add sightings to the same narrative and day; the second must not wait
    for the first to commit (a shared counter row would make every monitor's batch queue on it).
    Mutation: the insert trigger upserts narrative_days directly: the second writer waits on the
    first's row and its lock_timeout fires."""
    at = datetime(2024, 3, 5, 12, tzinfo=UTC)
    with _connect(committed) as setup:
        narrative_id = _narrative(setup)
        _add(setup, narrative_id, at, 0)
        timeline.fold(setup)
    with _connect(committed) as first, _connect(committed) as second, first.transaction():
        _add(first, narrative_id, at, 1)
        with second.transaction():
            second.execute("SET LOCAL lock_timeout = '2s'")
            _add(second, narrative_id, at, 2)
    with _connect(committed) as check_conn:
        rows = timeline.buckets(
            check_conn,
            narrative_id,
            unit="day",
            lo=at - timedelta(hours=12),
            hi=at + timedelta(hours=12),
        )
        assert [row["sightings"] for row in rows] == [3]


def test_two_folds_at_once_count_each_delta_once(committed):
    """Two workers fold at the same moment while writers keep adding: every sighting is counted
    once. Mutation: fold() reads the deltas with a SELECT and deletes them by a second
    statement (both workers fold the same rows): the counts come out too high."""
    at = datetime(2024, 3, 6, 12, tzinfo=UTC)
    with _connect(committed) as setup:
        narrative_id = _narrative(setup)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            with _connect(committed) as conn:
                for n in range(40):
                    _add(conn, narrative_id, at + timedelta(days=n % 3), k * 1000 + n)
        except BaseException as exc:
            errors.append(exc)

    def fold() -> None:
        try:
            with _connect(committed) as conn:
                while not stop.is_set():
                    with conn.transaction():
                        timeline.fold(conn)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    folders = [threading.Thread(target=fold) for _ in range(2)]
    for thread in (*writers, *folders):
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in folders:
        thread.join()
    assert errors == []
    with _connect(committed) as conn:
        timeline.fold(conn)
        folded = conn.execute(
            "SELECT sum(sightings) AS n FROM narrative_days WHERE narrative_id = %(id)s",
            {"id": narrative_id},
        ).fetchone()["n"]
    assert folded == 120


def test_the_migration_counts_the_sightings_already_there(fresh_database_url, tmp_path):
    """0022 on a database that already holds sightings: its backfill puts them in the rollup,
    false positives left out, by UTC day. Mutation: no backfill: the timeline shows nothing."""
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0022":
            shutil.copy(path, earlier / path.name)
    migrate.migrate(fresh_database_url, earlier)
    at = datetime(2024, 3, 7, 23, 30, tzinfo=UTC)
    with _connect(fresh_database_url) as conn:
        narrative_id = _narrative(conn)
        for n in range(3):
            _add(conn, narrative_id, at, n)
        conn.execute(
            "UPDATE sightings SET status = 'false_positive'"
            " WHERE id = (SELECT id FROM sightings ORDER BY id LIMIT 1)"
        )
    migrate.migrate(fresh_database_url)
    with _connect(fresh_database_url) as conn:
        rows = conn.execute(
            "SELECT day, source_kind, language, sightings FROM narrative_days"
        ).fetchall()
        assert rows == [
            {
                "day": datetime(2024, 3, 7, tzinfo=UTC),
                "source_kind": "outlet",
                "language": "en",
                "sightings": 2,
            }
        ]


def test_a_recount_and_the_fold_job_take_the_deltas_in_one_order(committed):
    """A fold of the count deltas then the day deltas in one transaction (as the worker's two
    jobs did in one until they were split): a recount (the seed's) that arrives in between waits
    for it rather than deadlocking.
    Mutation: recount() rebuilds the days first: PostgreSQL reports a deadlock."""
    with _connect(committed) as setup:
        narrative_id = _narrative(setup)
        for n in range(3):
            _add(setup, narrative_id, datetime(2024, 3, 8, 12, tzinfo=UTC), n)
    errors: list[BaseException] = []
    with _connect(committed) as worker, _connect(committed) as seeder:
        pid = seeder.info.backend_pid

        def recount() -> None:
            try:
                with seeder.transaction():
                    stats.recount(seeder)
            except BaseException as exc:
                errors.append(exc)

        with worker.transaction():
            stats.fold(worker)
            thread = threading.Thread(target=recount)
            thread.start()
            for _ in range(500):
                waiting = worker.execute(
                    "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity"
                    " WHERE pid = %(pid)s",
                    {"pid": pid},
                ).fetchone()
                if waiting and waiting["waiting"]:
                    break
                time.sleep(0.01)
            timeline.fold(worker)
        thread.join()
    assert errors == []
    with _connect(committed) as conn:
        rows = timeline.buckets(
            conn,
            narrative_id,
            unit="day",
            lo=datetime(2024, 3, 8, tzinfo=UTC),
            hi=datetime(2024, 3, 9, tzinfo=UTC),
        )
        assert [row["sightings"] for row in rows] == [3]


def test_truncating_the_sightings_empties_what_is_counted_of_them(client, conn):
    """A maintainer's TRUNCATE (no row trigger fires): no timeline, count or first seen is left
    behind. Mutation: no truncate trigger: the day cells and the totals stay."""
    n = create_narrative(client)
    create_sighting(client, n["slug"], observed_at="2024-03-05T10:00:00Z")
    timeline.fold(conn)
    stats.fold(conn)
    conn.execute("TRUNCATE sightings CASCADE")
    left = conn.execute(
        "SELECT (SELECT count(*) FROM narrative_days) + (SELECT count(*) FROM narrative_day_deltas)"
        "     + (SELECT count(*) FROM narrative_sighting_totals)"
        "     + (SELECT count(*) FROM narrative_sighting_deltas) AS n"
    ).fetchone()["n"]
    assert left == 0
    one = client.get(f"/v1/narratives/{n['slug']}").get_json()
    assert (one["sighting_count"], one["first_seen_at"]) == (0, None)
    check(conn, uuid.UUID(n["id"]))
