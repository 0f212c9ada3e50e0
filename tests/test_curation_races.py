"""Editors and monitors at the same moment, through a real gunicorn: what one commits must
never leave the data in a state no single request could have made."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.factories import narrative_body, sighting_body
from tests.live import admin_key, gunicorn

TRIALS = 12


@pytest.fixture(scope="module")
def races_db(migrated_database):
    with migrated_database("races") as url:
        yield url


@pytest.fixture(scope="module")
def server(races_db):
    key = admin_key(races_db, "races-admin")
    with gunicorn(races_db, workers=4) as live:
        live.authorize(key)
        yield live


def _at_once(*calls):
    """Run the calls in threads released together; returns their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _has_cycle(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """
            WITH RECURSIVE walk (start, id, depth) AS (
                SELECT id, parent_id, 1 FROM narratives WHERE parent_id IS NOT NULL
                UNION ALL
                SELECT w.start, n.parent_id, w.depth + 1
                  FROM walk w JOIN narratives n ON n.id = w.id
                 WHERE n.parent_id IS NOT NULL AND w.depth < 100
            )
            SELECT EXISTS (SELECT 1 FROM walk WHERE id = start)
            """
        ).fetchone()[0]


def test_two_editors_cannot_make_narratives_each_others_parent(server, races_db):
    outcomes = []
    for _ in range(TRIALS):
        a, b = (f"cycle-{uuid.uuid4().hex[:10]}" for _ in range(2))
        for slug in (a, b):
            assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
        statuses = _at_once(
            lambda a=a, b=b: server.request("PATCH", f"/v1/narratives/{a}", {"parent": b})[0],
            lambda a=a, b=b: server.request("PATCH", f"/v1/narratives/{b}", {"parent": a})[0],
        )
        outcomes.append(sorted(statuses))
    assert not _has_cycle(races_db)
    # One of each pair wins, the other is told why: never both.
    assert all(pair == [200, 422] for pair in outcomes), outcomes


def _batch(slug: str) -> dict:
    return {
        "sightings": [
            sighting_body(slug, url=f"https://feed.example/{slug}/{i}") for i in range(1000)
        ]
    }


def test_nothing_is_stored_on_a_narrative_archived_during_a_batch(server, races_db):
    # How long a batch takes here, so that the archives below land all along its way.
    warm = f"warm-{uuid.uuid4().hex[:10]}"
    assert server.request("POST", "/v1/narratives", narrative_body(slug=warm))[0] == 201
    started = time.monotonic()
    assert server.request("POST", "/v1/sightings", _batch(warm))[0] == 200
    duration = time.monotonic() - started

    outcomes = []
    for trial in range(TRIALS):
        slug = f"archived-{uuid.uuid4().hex[:10]}"
        assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
        delay = duration * trial / TRIALS

        def archive(slug=slug, delay=delay):
            """The archive an editor's DELETE makes, plus what its transaction saw stored on
            the narrative once its UPDATE went through."""
            time.sleep(delay)
            with psycopg.connect(races_db) as conn, conn.transaction():
                conn.execute(
                    "UPDATE narratives SET status = 'archived', updated_at = clock_timestamp()"
                    " WHERE slug = %s",
                    (slug,),
                )
                return _stored(conn, slug)

        batch_status, seen_by_archive = _at_once(
            lambda slug=slug: server.request("POST", "/v1/sightings", _batch(slug))[0], archive
        )
        with psycopg.connect(races_db) as conn:
            stored = _stored(conn, slug)
        outcomes.append((round(delay, 3), batch_status, seen_by_archive, stored))
    # Either the batch committed before the archive did (all 1000, acknowledged, and the
    # archive saw them) or it saw the archive and stored nothing (422); never rows written
    # behind an archive's back.
    assert all(
        (status, seen, stored) in ((200, 1000, 1000), (422, 0, 0))
        for _, status, seen, stored in outcomes
    ), outcomes


def _stored(conn: psycopg.Connection, slug: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM sightings s JOIN narratives n ON n.id = s.narrative_id"
        " WHERE n.slug = %s",
        (slug,),
    ).fetchone()[0]


def test_two_editors_with_the_same_etag_cannot_both_write(server):
    outcomes = []
    for _ in range(TRIALS):
        slug = f"etag-{uuid.uuid4().hex[:10]}"
        assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
        tag = server.request("GET", f"/v1/narratives/{slug}")[1]["ETag"]
        statuses = _at_once(
            *(
                lambda title=title, slug=slug, tag=tag: server.request(
                    "PATCH", f"/v1/narratives/{slug}", {"title": title}, {"If-Match": tag}
                )[0]
                for title in ("First editor", "Second editor")
            )
        )
        outcomes.append(sorted(statuses))
    # The lock taken before the comparison: the second write sees the first one's new ETag.
    assert all(pair == [200, 412] for pair in outcomes), outcomes
