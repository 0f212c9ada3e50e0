"""What comments in the code promise, pinned: each test here fails when its mechanism is taken
out (the mutation each one was checked against is named in its docstring)."""

import datetime
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from flask import Flask

from service import create_app, db
from service.web.problems import problem
from tests.factories import create_narrative, narrative_body, sighting_body
from tests.live import admin_key, gunicorn
from tests.test_operations import fresh_key, make_app  # noqa: F401 - a fixture


def test_a_revoked_key_stops_working_at_once_in_the_serving_process(make_app, conn):  # noqa: F811
    """Mutation: drop `auth.forget(key_id)` from the revoke view (the cache keeps the key)."""
    app = make_app(AUTH_CACHE_SECONDS=300)
    client = app.test_client()
    admin = {"Authorization": f"Bearer {fresh_key(conn, 'admin')}"}
    issued = client.post(
        "/v1/keys", json={"name": f"short-{uuid.uuid4().hex[:6]}", "role": "reader"}, headers=admin
    )
    victim = {"Authorization": f"Bearer {issued.get_json()['key']}"}
    assert client.get("/v1/me", headers=victim).status_code == 200  # now cached for 300 s

    assert client.delete(f"/v1/keys/{issued.get_json()['id']}", headers=admin).status_code == 200

    assert client.get("/v1/me", headers=victim).status_code == 401


def test_a_key_over_its_limit_tells_the_other_processes(make_app, conn):  # noqa: F811
    """Mutation: sync only every SYNC_SECONDS, not also when a key goes over its limit (the
    other processes would go on serving it from their own, older count)."""
    headers = {"Authorization": f"Bearer {fresh_key(conn)}"}
    one, other = make_app(RATE_LIMIT_PER_MINUTE=3), make_app(RATE_LIMIT_PER_MINUTE=3)

    served = [one.test_client().get("/v1/me", headers=headers).status_code for _ in range(4)]

    assert served == [200, 200, 200, 429]
    assert other.test_client().get("/v1/me", headers=headers).status_code == 429


def test_after_a_pool_timeout_requests_fail_fast_without_asking_the_pool(api_keys):
    """Mutation: drop the FAIL_FAST_SECONDS window in service/db.py (every request would wait
    DB_POOL_TIMEOUT for a database known to be down, holding every worker)."""
    app = create_app(
        {
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",  # nothing listens there
            "DB_POOL_TIMEOUT": 0.3,
            "AUTH_CACHE_SECONDS": 0,
        }
    )
    pool = app.extensions[db.EXTENSION].pool
    headers = {"Authorization": f"Bearer {api_keys['reader']}"}
    try:
        first = app.test_client().get("/v1/narratives", headers=headers)
        asked = pool.get_stats().get("requests_num", 0)
        second = app.test_client().get("/v1/narratives", headers=headers)
        asked_again = pool.get_stats().get("requests_num", 0)
    finally:
        app.extensions[db.EXTENSION].close()

    assert first.status_code == second.status_code == 503
    assert asked >= 1
    assert asked_again == asked, "the second request went to the pool instead of failing fast"


def test_problem_details_are_valid_json_whatever_the_input_held():
    """Mutation: drop `_printable` in service/web/problems.py (a lone surrogate from input would
    make the problem itself fail to serialise: a 500 instead of the 4xx)."""
    app = Flask(__name__)
    hostile = "no narrative '\ud800\x1b[31m\x00'"
    with app.test_request_context("/v1/narratives/x"):
        response = problem(
            404, "Not Found", hostile, errors={"\udfff\x07": ["Unknown field."]}, kind="not-found"
        )
    raw = response.get_data()
    body = json.loads(raw)
    assert body["detail"] == "no narrative '?\x1b[31m\x00'"  # the surrogate replaced
    assert all(byte >= 0x20 for byte in raw), "control characters must be escaped"
    assert list(body["errors"]) == ["?\x07"]


@pytest.fixture(scope="module")
def one_monitor(migrated_database):
    with migrated_database("monitor") as url:
        key = admin_key(url, "monitor-admin")
        with gunicorn(url, workers=4) as live:
            live.authorize(key)
            yield live, url


def _post_concurrently(server, batches_by_monitor: list[tuple[str | None, list[list]]]):
    """Each monitor (its key, its batches) posts its batches in turn, all monitors at once, in
    rounds: every monitor's first batch together, then every second one, and so on."""
    rounds = threading.Barrier(len(batches_by_monitor))

    def monitor(job) -> list[int]:
        key, batches = job
        headers = {"Authorization": f"Bearer {key}"} if key else None
        statuses = []
        for batch in batches:
            rounds.wait()
            body = {"sightings": batch}
            statuses.append(server.request("POST", "/v1/sightings", body, headers=headers)[0])
        return statuses

    with ThreadPoolExecutor(max_workers=len(batches_by_monitor)) as pool:
        return [s for result in pool.map(monitor, batches_by_monitor) for s in result]


def _stored(url: str, slug: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*), count(DISTINCT url_normalized), count(DISTINCT external_id)"
            "  FROM sightings s JOIN narratives n ON n.id = s.narrative_id WHERE n.slug = %s",
            (slug,),
        ).fetchone()


def test_one_keys_batches_sharing_external_ids_neither_deadlock_nor_duplicate(one_monitor):
    """Batches of one key are no longer serialised (tests/test_identities.py): they claim
    their identities in one statement, in identity order. Two series whose external_ids run in
    opposite URL orders would otherwise take them in opposite orders. Mutations: drop the ORDER
    BY of identities.CLAIM (a deadlock: 503s); claim no external_id (identities.of without it:
    one key's batches store an external_id many times)."""
    server, url = one_monitor
    slug = f"overlap-{uuid.uuid4().hex[:8]}"
    assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
    n, rounds = 150, 5

    def series(kind: str, round_: int) -> list[dict]:
        """x: external_ids in URL order; y: the same ids in reverse URL order."""
        return [
            sighting_body(
                slug,
                url=f"https://{kind}.example/{round_}/{i:03d}",
                external_id=f"e-{round_}-{(i if kind == 'x' else n - 1 - i):03d}",
            )
            for i in range(n)
        ]

    jobs = [(None, [series("xy"[monitor % 2], r) for r in range(rounds)]) for monitor in range(8)]
    statuses = _post_concurrently(server, jobs)

    assert set(statuses) == {200}, statuses
    stored, _, distinct_ids = _stored(url, slug)
    assert stored == distinct_ids == n * rounds, "one sighting per external_id"


def test_many_keys_batches_sharing_urls_neither_deadlock_nor_duplicate(one_monitor):
    """Mutations: drop the ORDER BY of identities.CLAIM (keys posting the same URLs in opposite
    orders then claim them in opposite orders: a deadlock, 503s); claim no URL (identities.of
    without it: a URL stored many times)."""
    server, url = one_monitor
    slug = f"shared-{uuid.uuid4().hex[:8]}"
    assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
    n, rounds = 150, 5
    jobs = []
    for monitor in range(8):
        key = admin_key(url, f"monitor-{slug}-{monitor}")
        batches = [
            [sighting_body(slug, url=f"https://z.example/{r}/{i:03d}") for i in range(n)]
            for r in range(rounds)
        ]
        jobs.append((key, batches if monitor % 2 else [b[::-1] for b in batches]))

    statuses = _post_concurrently(server, jobs)

    assert set(statuses) == {200}, statuses
    stored, distinct_urls, _ = _stored(url, slug)
    assert stored == distinct_urls == n * rounds, "one sighting per URL"


def test_only_a_connection_idle_for_a_while_is_checked_before_it_is_lent(database_url):
    """A connection handed back moments ago is lent without a round trip (mutation: check every
    borrow again, and the first assertion fails); one idle for longer is checked, so a
    connection cut while idle (a restart) is never lent (mutation: never check)."""
    from service.db import _RETURNED_AT, CHECK_AFTER_IDLE_SECONDS, _check_if_idle, _stamp_returned

    with (
        psycopg.connect(database_url, autocommit=True) as lent,
        psycopg.connect(database_url, autocommit=True) as admin,
    ):
        pid = lent.info.backend_pid
        _stamp_returned(lent)
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        _check_if_idle(lent)  # just returned: trusted, no round trip (so the cut goes unseen)

        setattr(lent, _RETURNED_AT, getattr(lent, _RETURNED_AT) - CHECK_AFTER_IDLE_SECONDS - 1)
        with pytest.raises(psycopg.OperationalError):
            _check_if_idle(lent)


def test_a_connection_broken_under_trust_fails_one_request_and_no_outage_is_declared(
    database_url,
):
    """A server restart cuts connections the pool lends on trust: the first such request fails,
    but that is no outage (mutation: declare one, and the next request is refused at once), and
    from then on every lend is checked, so the next request gets a good connection (mutation:
    keep trusting, and it fails too)."""
    from service.db import Database

    database = Database(database_url, min_size=2, max_size=2, timeout=3, statement_timeout_ms=5000)
    database.open()
    try:
        database.pool.wait(timeout=5)
        with database.connection() as a, database.connection() as b:
            pids = [a.info.backend_pid, b.info.backend_pid]
        with psycopg.connect(database_url, autocommit=True) as admin:
            for pid in pids:  # as a restart would, while both sat in the pool
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        with pytest.raises(psycopg.OperationalError), database.connection() as broken:
            broken.execute("SELECT 1")

        assert database.unavailable_until == 0.0, "one stale connection is not an outage"
        with database.connection() as fresh:
            assert fresh.execute("SELECT 1 AS ok").fetchone()["ok"] == 1
    finally:
        database.close()


def test_a_connection_is_handed_back_in_the_requests_own_thread_and_lent_again_unchecked(
    database_url,
):
    """Returning a connection stamps it and puts it back before the request ends, so the next
    borrow takes it at once and without a check. (Mutation: psycopg_pool's `reset` callback
    for the stamp, which sends every return through the pool's worker thread, and the pool is
    still empty when the block ends; mutation: no stamp, and the next lend is checked.)"""
    from service.db import _UNCHECKED, Database

    database = Database(database_url, min_size=1, max_size=1, timeout=3, statement_timeout_ms=5000)
    database.open()
    try:
        database.pool.wait(timeout=5)
        with database.connection() as first:
            first.execute("SELECT 1")
        assert database.pool.get_stats()["pool_available"] == 1

        with database.connection() as again:
            assert again is first
            assert getattr(again, _UNCHECKED) is True
    finally:
        database.close()


def test_a_connection_that_carried_a_large_message_is_not_lent_again(database_url):
    """libpq keeps a connection's buffers as large as the largest message it has carried (about
    7 MiB for a hostile batch), for its whole life; with a pooled connection per thread, a
    worker kept each. A connection retired by whoever sent such a message is closed when handed
    back, and the pool lends a fresh one; any other is lent again. (Mutation: no close in
    `_pooled`.)"""
    database = db.Database(
        database_url, min_size=1, max_size=1, timeout=3, statement_timeout_ms=5000
    )
    database.open()
    try:
        database.pool.wait(timeout=5)
        with database.connection() as first:
            first.execute("SELECT 1")
        with database.connection() as again:
            assert again is first
            db.retire(again)
        assert again.closed
        with database.connection() as fresh:
            assert fresh is not again
            assert fresh.execute("SELECT 1 AS ok").fetchone()["ok"] == 1
    finally:
        database.close()


def test_a_batch_of_long_urls_retires_its_connection_and_an_ordinary_one_does_not(client, conn):
    """(Mutation: never retire; or retire after every batch, and each pays a new connection.)"""
    from service.repo import sightings

    narrative = create_narrative(client)["id"]

    def batch(count: int, url_length: int) -> list[dict]:
        return [
            {
                "narrative_id": narrative,
                "observed_at": datetime.datetime(2024, 3, 23, tzinfo=datetime.UTC),
                "url": f"https://example.org/{i}/" + "a" * url_length,
                "source": {"name": "Channel", "kind": "channel"},
                "actor": None,
                "quote": None,
                "language": "ru",
                "country": None,
                "external_id": None,
                "confidence": None,
            }
            for i in range(count)
        ]

    try:
        sightings.insert_many(conn, batch(500, 100), by="tests")
        assert not getattr(conn, db._RETIRE, False)
        sightings.insert_many(conn, batch(1000, 1200), by="tests")
        assert getattr(conn, db._RETIRE, False)
    finally:
        setattr(conn, db._RETIRE, False)
