"""Through a real gunicorn: concurrency, limits and shutdown as clients meet them."""

import http.client
import json
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil
import psycopg
import pytest

from tests.factories import narrative_body, sighting_body
from tests.live import admin_key, gunicorn


@pytest.fixture(scope="module")
def live_db(migrated_database):
    with migrated_database("live") as url:
        yield url


@pytest.fixture(scope="module")
def server(live_db):
    key = admin_key(live_db, "live-admin")
    with gunicorn(live_db, workers=3) as live:
        live.authorize(key)
        yield live


def _count(url: str, sql: str, params: tuple = ()) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_concurrent_retries_of_the_same_sightings_store_each_once(server, live_db):
    slug = f"window-{uuid.uuid4().hex[:8]}"
    assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
    items = [sighting_body(slug, url=f"https://shot.ru/{slug}/{i}") for i in range(10)]

    def monitor(_):
        return [server.request("POST", "/v1/sightings", item)[0] for item in items]

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = [s for result in pool.map(monitor, range(20)) for s in result]

    assert set(statuses) <= {200, 201}
    assert statuses.count(201) == len(items)
    stored = _count(
        live_db,
        "SELECT count(*) FROM sightings s JOIN narratives n ON n.id = s.narrative_id"
        " WHERE n.slug = %s",
        (slug,),
    )
    assert stored == len(items)


def test_oversized_body_is_refused_with_413_before_it_is_read(server):
    # Announce 3 MiB and send none of it: the server must answer from the header alone (a
    # client still uploading would otherwise race the early answer and see a broken pipe).
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/v1/narratives")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Authorization", server.headers["Authorization"])
        conn.putheader("Content-Length", str(3 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()

    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    assert body["status"] == 413


def test_health_and_docs_answer(server):
    assert server.request("GET", "/healthz")[0] == 200
    assert server.request("GET", "/docs")[0] == 200
    status, headers, _ = server.request("GET", "/openapi.yaml")
    assert status == 200 and headers["Content-Type"].startswith("application/yaml")


def test_a_killed_worker_is_replaced_and_service_continues(server):
    workers = psutil.Process(server.process.pid).children()
    assert workers
    os.kill(workers[0].pid, signal.SIGKILL)

    statuses = [server.request("GET", "/healthz")[0] for _ in range(20)]

    assert statuses == [200] * 20


def test_sigterm_stops_gunicorn_cleanly(live_db):
    with gunicorn(live_db, workers=1) as live:
        os.killpg(live.process.pid, signal.SIGTERM)
        assert live.process.wait(timeout=12) == 0


def test_twenty_monitors_retrying_the_same_batches_store_each_item_once(server, live_db):
    slug = f"batch-{uuid.uuid4().hex[:8]}"
    assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
    items = [sighting_body(slug, url=f"https://tass.ru/{slug}/{i}") for i in range(200)]
    batches = [items[i : i + 50] for i in range(0, len(items), 50)]

    def monitor(seed):
        # Each monitor posts the batches in its own order, twice: bursts plus retries.
        order = batches[seed % 4 :] + batches[: seed % 4]
        return [
            server.request("POST", "/v1/sightings", {"sightings": batch})
            for _ in range(2)
            for batch in order
        ]

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = [r for result in pool.map(monitor, range(20)) for r in result]

    assert {status for status, _, _ in responses} == {200}
    created = sum(body["created"] for _, _, body in responses)
    ids = {r["id"] for _, _, body in responses for r in body["results"]}
    assert created == len(items)
    assert len(ids) == len(items)
    stored = _count(
        live_db,
        "SELECT count(*) FROM sightings s JOIN narratives n ON n.id = s.narrative_id"
        " WHERE n.slug = %s",
        (slug,),
    )
    assert stored == len(items)


def test_concurrent_retries_with_one_idempotency_key_get_one_response(server, live_db):
    slug = f"idem-{uuid.uuid4().hex[:8]}"
    server.request("POST", "/v1/narratives", narrative_body(slug=slug))
    body = sighting_body(slug, url=None, external_id=None)  # no natural identity at all
    headers = {"Idempotency-Key": f"retry-{slug}"}

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(lambda _: server.request("POST", "/v1/sightings", body, headers), range(20))
        )

    assert {status for status, _, _ in responses} == {201}
    assert len({body["id"] for _, _, body in responses}) == 1
    assert sum(1 for _, h, _ in responses if h.get("Idempotent-Replayed") == "true") == 19
    stored = _count(
        live_db,
        "SELECT count(*) FROM sightings s JOIN narratives n ON n.id = s.narrative_id"
        " WHERE n.slug = %s",
        (slug,),
    )
    assert stored == 1


def test_a_chunked_body_past_the_cap_is_refused_not_truncated(server):
    # Valid JSON, then padding past the cap: if the server processed what fits under the cap
    # it would store this narrative. The answer is 413, or (when the server answers before the
    # upload ends) a closed connection; either way nothing is stored.
    slug = f"chunked-{uuid.uuid4().hex[:8]}"
    body = json.dumps(narrative_body(slug=slug)).encode() + b" " * (3 * 1024 * 1024)
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    status = None
    try:
        conn.putrequest("POST", "/v1/narratives")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Authorization", server.headers["Authorization"])
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for start in range(0, len(body), 65536):
            chunk = body[start : start + 65536]
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        status = response.status
        response.read()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        conn.close()

    assert status in (413, None)
    assert server.request("GET", f"/v1/narratives/{slug}")[0] == 404


def test_one_access_line_per_request_under_gunicorn(live_db):
    with gunicorn(live_db, workers=1, ACCESS_LOG="true") as live:
        for _ in range(5):
            live.request("GET", "/healthz", headers={"X-Request-ID": "count-me"})
        output = live.output()

    lines = [line for line in output.splitlines() if "/healthz" in line and "count-me" in line]
    assert len(lines) == 5
    assert all('"logger": "narratives.access"' in line for line in lines)
    assert "gunicorn.access" not in output


def test_a_request_still_arriving_does_not_hold_the_only_worker(live_db):
    """With GUNICORN_THREADS above 1 (gunicorn's gthread worker), while one request waits on its
    client, or on PostgreSQL, another is answered. (Mutation: the setting not handed to
    gunicorn, or 1, the sync worker: the second request waits behind the first and times out.)"""
    import socket
    import time

    key = admin_key(live_db, "live-slow-body")
    with gunicorn(live_db, workers=1, GUNICORN_THREADS="4") as live:
        host, port = live.base_url.removeprefix("http://").split(":")
        slow = socket.create_connection((host, int(port)), timeout=10)
        try:
            slow.sendall(  # a key, so that the view goes on to read the body
                b"POST /v1/sightings HTTP/1.1\r\nHost: tests\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
            )
            time.sleep(0.3)  # the worker has taken it up and waits for the rest of its body
            started = time.monotonic()
            answer = http.client.HTTPConnection(host, int(port), timeout=3)
            answer.request("GET", "/healthz")
            status = answer.getresponse().status
            waited = time.monotonic() - started
            answer.close()
        finally:
            slow.close()
    assert status == 200
    assert waited < 2, f"the second request waited {waited:.2f} s"
