"""NDJSON imports through a real gunicorn: a client that goes away, and imports racing batches."""

import json
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.factories import narrative_body, sighting_body
from tests.live import admin_key, gunicorn

NDJSON = "application/x-ndjson"


@pytest.fixture(scope="module")
def live_db(migrated_database):
    with migrated_database("import") as url:
        yield url


@pytest.fixture(scope="module")
def server(live_db):
    key = admin_key(live_db, "import-admin")
    with gunicorn(live_db, workers=3) as live:
        live.authorize(key)
        yield live


@pytest.fixture
def slug(server):
    slug = f"window-{uuid.uuid4().hex[:8]}"
    assert server.request("POST", "/v1/narratives", narrative_body(slug=slug))[0] == 201
    return slug


def stored(url: str, slug: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM sightings s JOIN narratives n ON n.id = s.narrative_id"
            " WHERE n.slug = %s",
            (slug,),
        ).fetchone()[0]


def copying(url: str) -> int:
    """Rows the COPY statements under way have taken in so far."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT coalesce(sum(tuples_processed), 0) FROM pg_stat_progress_copy"
        ).fetchone()[0]


def ndjson(items) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def test_a_client_that_disconnects_mid_stream_leaves_nothing(server, live_db, slug):
    data = ndjson(sighting_body(slug, url=f"https://cut.example/{n}") for n in range(6000))
    host, port = urlsplit(server.base_url).hostname, urlsplit(server.base_url).port
    head = (
        f"POST /v1/sightings/import HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {server.headers['Authorization']}\r\n"
        f"Content-Type: {NDJSON}\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port)) as sock:
        # Whole lines only: what was sent reads as a complete file, but for its length.
        sock.sendall(head + data[: data.index(b"\n", len(data) // 2) + 1])
        deadline = time.monotonic() + 20
        while copying(live_db) == 0:  # the first half is being staged
            assert time.monotonic() < deadline, "the import never started copying"
            time.sleep(0.05)
    deadline = time.monotonic() + 20
    while copying(live_db):  # the server noticed, and rolled back
        assert time.monotonic() < deadline, "the import never ended"
        time.sleep(0.05)

    assert stored(live_db, slug) == 0
    assert server.request("GET", "/readyz")[0] == 200
    # The same file, whole, goes in.
    status, _, body = server.request(
        "POST", "/v1/sightings/import", data, headers={"Content-Type": NDJSON}
    )
    assert (status, body["created"]) == (200, 6000)


def test_imports_and_batches_sharing_sightings_store_each_once_without_deadlock(
    server, live_db, slug
):
    """The import claims its lines' identities in the batch path's order (identity order):
    both race over the same URLs, each item stored once, no deadlock."""
    items = [sighting_body(slug, url=f"https://race.example/{n}") for n in range(3000)]
    rng = random.Random(5)
    done = threading.Event()
    statuses: list[int] = []

    def batches(seed: int) -> None:
        local = random.Random(seed)
        while not done.is_set():
            batch = local.sample(items, 400)
            statuses.append(server.request("POST", "/v1/sightings", {"sightings": batch})[0])

    def imports() -> None:
        try:
            for _ in range(3):
                shuffled = rng.sample(items, len(items))
                status = server.request(
                    "POST", "/v1/sightings/import", ndjson(shuffled), {"Content-Type": NDJSON}
                )[0]
                statuses.append(status)
        finally:
            done.set()

    with ThreadPoolExecutor(max_workers=3) as pool:
        racing = [pool.submit(batches, seed) for seed in (1, 2)]
        imports()
        for future in racing:
            future.result()

    assert set(statuses) == {200}, sorted(set(statuses))
    assert stored(live_db, slug) == len(items)


def test_concurrent_imports_with_external_ids_store_each_once(server, live_db, slug):
    items = [
        sighting_body(slug, url=None, external_id=f"{slug}-{n}", quote=f"q {n}")
        for n in range(2000)
    ]

    def post(seed: int) -> int:
        shuffled = random.Random(seed).sample(items, len(items))
        if seed % 2:
            return server.request("POST", "/v1/sightings", {"sightings": shuffled[:1000]})[0]
        return server.request(
            "POST", "/v1/sightings/import", ndjson(shuffled), {"Content-Type": NDJSON}
        )[0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(post, range(8)))

    assert set(statuses) == {200}
    assert stored(live_db, slug) == len(items)
