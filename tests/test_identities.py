"""Sighting identities claimed in one key space (migration 0016, service/repo/identities.py):
what is stored once, what the claims hold after every kind of write, and that one key's
writers no longer wait for each other."""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import dict_row

from service.repo import identities
from service.repo import sightings as sightings_repo
from tests.factories import create_narrative, create_sighting, sighting_body
from tests.identities_support import claims_are_exact


@pytest.fixture
def narrative(client):
    return create_narrative(client, slug="ukrainian-window")


# ------------------------------------------------------------------------------ the digests


@pytest.mark.parametrize(
    "row",
    [
        {"url_normalized": "https://shot.ru/news/1", "external_id": None, "content_key": None},
        {"url_normalized": "https://пример.рф/статья?q=ü", "external_id": "id:7/é"},
        {"url_normalized": None, "external_id": None, "content_key": "ab" * 32},
        {"url_normalized": "", "external_id": "", "content_key": None},
    ],
)
@pytest.mark.parametrize("by", ["monitor-1", "a", "key.with-all_the.chars"])
def test_python_computes_the_identities_sql_does(conn, row, by):
    row = {"narrative_id": uuid.uuid4(), "content_key": None, **row}

    in_sql = conn.execute(
        "SELECT sighting_identities_of(%(narrative_id)s, %(url_normalized)s, %(by)s,"
        "                              %(external_id)s, %(content_key)s) AS keys",
        {**row, "by": by},
    ).fetchone()["keys"]

    assert identities.of(row, by) == tuple(None if key is None else key.hex for key in in_sql)


def test_a_key_name_cannot_pass_for_part_of_an_external_id():
    row = {"narrative_id": uuid.uuid4(), "external_id": "b:c"}
    other = {"narrative_id": row["narrative_id"], "external_id": "c"}

    assert identities.of(row, "a")[2] != identities.of(other, "ab:")[2]


# ------------------------------------------------------------------- what a batch stores


def test_of_items_sharing_an_identity_the_first_in_the_batch_is_stored(client, conn, narrative):
    """Input order decides, not the identities' order: the URL of the first item sorts last."""
    items = [
        sighting_body("ukrainian-window", url="https://z.example/1", external_id="e-1"),
        sighting_body("ukrainian-window", url="https://a.example/1", external_id="e-1"),
        sighting_body("ukrainian-window", url="https://z.example/1"),
        sighting_body("ukrainian-window", url=None, quote="Once", external_id=None),
        sighting_body("ukrainian-window", url=None, quote="Once", external_id=None),
    ]
    for twin in (3, 4):
        items[twin]["observed_at"] = "2024-03-26T10:00:00Z"

    results = client.post("/v1/sightings", json={"sightings": items}).get_json()["results"]

    assert [r["status"] for r in results] == [
        "created",
        "duplicate",
        "duplicate",
        "created",
        "duplicate",
    ]
    assert results[1]["id"] == results[2]["id"] == results[0]["id"]
    assert results[4]["id"] == results[3]["id"]
    claims_are_exact(conn)


def test_an_item_that_shares_an_identity_only_with_a_duplicate_is_stored(client, conn, narrative):
    """The first item is a duplicate (its URL is stored) and stores nothing, so its
    external_id is no one's: the second item, which shares only that, is new."""
    stored = create_sighting(client, "ukrainian-window", url="https://a.example/1")
    items = [
        sighting_body("ukrainian-window", url="https://a.example/1", external_id="e-1"),
        sighting_body("ukrainian-window", url="https://b.example/1", external_id="e-1"),
        sighting_body("ukrainian-window", url="https://c.example/1", external_id="e-1"),
    ]

    results = client.post("/v1/sightings", json={"sightings": items}).get_json()["results"]

    assert [(r["status"], r["id"]) for r in results] == [
        ("duplicate", stored["id"]),
        ("created", results[1]["id"]),
        ("duplicate", results[1]["id"]),
    ]
    claims_are_exact(conn)


# --------------------------------------------------------- corrections and deletions


def test_a_corrected_url_frees_the_old_one_and_takes_the_new(client, conn, narrative):
    sighting = create_sighting(client, "ukrainian-window", url="https://a.example/1")

    response = client.patch(f"/v1/sightings/{sighting['id']}", json={"url": "https://b.example/1"})

    assert response.status_code == 200
    claims_are_exact(conn)
    again = client.post(
        "/v1/sightings", json=sighting_body("ukrainian-window", url="https://b.example/1")
    )
    assert (again.status_code, again.get_json()["id"]) == (200, sighting["id"])
    freed = client.post(
        "/v1/sightings", json=sighting_body("ukrainian-window", url="https://a.example/1")
    )
    assert freed.status_code == 201
    claims_are_exact(conn)


def test_a_sighting_moved_to_another_narrative_takes_its_url_along(client, conn, narrative):
    """Mutation: leave narrative_id out of the update trigger's WHEN in migration 0016 (the
    claim stays under the old narrative: the claims no longer match the sightings)."""
    create_narrative(client, slug="western-special-services")
    sighting = create_sighting(client, "ukrainian-window", url="https://a.example/1")

    moved = client.patch(
        f"/v1/sightings/{sighting['id']}", json={"narrative": "western-special-services"}
    )

    assert moved.status_code == 200
    claims_are_exact(conn)
    there = sighting_body("western-special-services", url="https://a.example/1")
    assert client.post("/v1/sightings", json=there).get_json()["duplicate"] is True
    here = sighting_body("ukrainian-window", url="https://a.example/1")
    assert client.post("/v1/sightings", json=here).status_code == 201


@pytest.mark.parametrize(
    ("first", "second", "change", "field"),
    [
        ({"external_id": "e-1"}, {"external_id": "e-2"}, {"external_id": "e-1"}, "external_id"),
        (
            {"url": None, "quote": "Words"},
            {"url": None, "quote": "Other words"},
            {"quote": "Words"},
            "_body",
        ),
    ],
)
def test_a_correction_into_another_sightings_identity_is_a_409_naming_the_field(
    client, conn, narrative, first, second, change, field
):
    at = "2024-03-26T10:00:00Z"
    create_sighting(client, "ukrainian-window", observed_at=at, **first)
    other = create_sighting(client, "ukrainian-window", observed_at=at, **second)

    response = client.patch(f"/v1/sightings/{other['id']}", json=change)

    assert response.status_code == 409
    assert field in response.get_json()["errors"]
    claims_are_exact(conn)


def test_a_deleted_sighting_frees_its_identities(client, conn, narrative):
    """Mutation: drop the delete trigger of migration 0016 (the claims outlive the sighting:
    they no longer match the sightings, and a new sighting at its URL is blocked)."""
    sighting = create_sighting(
        client, "ukrainian-window", url="https://a.example/1", external_id="x"
    )
    kept = create_sighting(client, "ukrainian-window", url="https://a.example/2")

    conn.execute("DELETE FROM sightings WHERE id = %s", (sighting["id"],))

    claims_are_exact(conn)
    again = sighting_body("ukrainian-window", url="https://a.example/1", external_id="x")
    assert client.post("/v1/sightings", json=again).status_code == 201
    still = sighting_body("ukrainian-window", url="https://a.example/2")
    assert client.post("/v1/sightings", json=still).get_json()["id"] == kept["id"]


def test_emptied_sightings_hold_no_identities(client, conn, narrative):
    create_sighting(client, "ukrainian-window", url="https://a.example/1")

    conn.execute("TRUNCATE sightings CASCADE")

    claims_are_exact(conn)
    again = sighting_body("ukrainian-window", url="https://a.example/1")
    assert client.post("/v1/sightings", json=again).status_code == 201


# ------------------------------------------------------------- writers of one key, live


@pytest.fixture(scope="module")
def committed(migrated_database):
    """A database of this module's own: these writes commit, from several connections."""
    with migrated_database("identities") as url:
        yield url


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, row_factory=dict_row)


def _narrative(url: str) -> uuid.UUID:
    with _connect(url) as conn:
        slug = f"n-{uuid.uuid4().hex[:8]}"
        return conn.execute(
            "INSERT INTO narratives (slug, title) VALUES (%s, %s) RETURNING id", (slug, slug)
        ).fetchone()["id"]


def _items(narrative: uuid.UUID, prefix: str, count: int) -> list[dict]:
    return [
        {
            "narrative_id": narrative,
            "observed_at": datetime(2024, 3, 26, tzinfo=UTC),
            "url": f"https://{prefix}.example/{n}",
            "source": {"name": "SHOT", "kind": "outlet"},
            "actor": None,
            "quote": None,
            "language": "en",
            "country": None,
            "external_id": f"{prefix}-{n}",
            "confidence": None,
        }
        for n in range(count)
    ]


def test_one_keys_writes_with_external_ids_proceed_side_by_side(committed):
    """Two open transactions of one key, each writing sightings with external_ids: the second
    one's insert completes while the first is still uncommitted (it used to queue behind it
    until commit, whatever the number of workers). Mutation: take the per-key advisory lock
    again in insert_many (`pg_advisory_xact_lock(hashtext('sightings:' || by))`): the second
    insert waits and fails on its lock_timeout."""
    narrative = _narrative(committed)
    with _connect(committed) as first, _connect(committed) as second:
        opened = sightings_repo.insert_many(first, _items(narrative, "a", 300), by="monitor-1")
        second.execute("SET lock_timeout = '3s'")

        stored = sightings_repo.insert_many(second, _items(narrative, "b", 300), by="monitor-1")

        assert all(created for _, created in opened + stored)
        second.commit()
        first.commit()
        claims_are_exact(first)


def test_a_write_sharing_an_identity_with_an_open_one_waits_and_is_its_duplicate(committed):
    narrative = _narrative(committed)
    item = _items(narrative, "c", 1)[0]
    with _connect(committed) as first, _connect(committed) as second:
        [(stored, _)] = sightings_repo.insert_many(first, [item], by="monitor-1")
        again = {**item, "url": "https://elsewhere.example/1"}  # only the external_id shared
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(sightings_repo.insert_many, second, [again], by="monitor-1")
            time.sleep(0.5)
            assert not waiting.done(), "the second write must wait for the first to end"
            first.commit()
            assert waiting.result(timeout=10) == [(stored, False)]
        second.commit()
        claims_are_exact(second)


def test_one_keys_writers_racing_over_shared_identities_store_each_once(committed):
    """Many transactions of one key, each with the same items in its own order (URL-only,
    external_id-only and both), all at once: no deadlock, each identity stored once."""
    narrative = _narrative(committed)
    base = _items(narrative, "d", 120)
    for n, item in enumerate(base):
        if n % 3 == 1:
            item["url"] = None
        elif n % 3 == 2:
            item["external_id"] = None
    start = threading.Barrier(6)

    def write(seed: int) -> list[bool]:
        order = random.Random(seed).sample(base, len(base))
        with _connect(committed) as conn:
            conn.execute("SET lock_timeout = '20s'")
            start.wait()
            results = sightings_repo.insert_many(conn, order, by="monitor-1")
            conn.commit()
            return [created for _, created in results]

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = [flag for flags in pool.map(write, range(6)) for flag in flags]

    assert created.count(True) == len(base)
    with _connect(committed) as conn:
        claims_are_exact(conn)


# ------------------------------------------------------------------------ deciding


def test_decide_frees_the_claims_of_an_item_not_stored_for_the_next():
    ids = {0: uuid.uuid4(), 1: uuid.uuid4()}
    keys = {0: ("url-a", None, "ext"), 1: ("url-b", None, "ext")}
    stored = uuid.uuid4()

    fate = identities.decide(
        [0, 1], keys, ids, mine={"ext": ids[0], "url-b": ids[1]}, held={"url-a": stored}
    )

    assert (fate.created, fate.duplicates, fate.blocked) == ([1], {0: stored}, [])
    assert fate.moves == {"ext": ids[1]}


def test_decide_leaves_an_item_whose_holder_vanished_for_another_claim():
    ids = {0: uuid.uuid4()}

    fate = identities.decide([0], {0: ("url-a", None, "ext")}, ids, mine={"ext": ids[0]}, held={})

    assert (fate.created, fate.blocked, fate.moves) == ([], [0], {"ext": None})
