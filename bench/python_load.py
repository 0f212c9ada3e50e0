"""The load generator used when wrk is missing: one thread per connection, http.client, latency
of every request recorded. It competes with the servers for the same cores (and the GIL among
its threads), so its figures are lower than wrk's; both apps get the same handicap. Also the
single request that checks an app's answer before each measurement."""

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from bench import match_texts
from bench.bodies import Requests, texts_for
from bench.load import Result
from bench.paths import Path
from bench.settings import BATCH_SIZE, PAGE_LIMIT

MAX_REQUESTS_PER_THREAD = 1_000_000


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def _headers(key: str, body: bytes | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def run(
    base_url: str,
    path: Path,
    *,
    key: str,
    slugs: list[str],
    tag: str,
    seconds: int,
    connections: int,
) -> Result:
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[int] = [0] * connections
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        requests = Requests(
            path.method,
            path.target,
            slugs,
            tag,
            index + 1,
            _batch(path),
            path.hostile_urls,
            texts_for(path),
        )
        conn = _connection(base_url)
        try:
            for _ in range(MAX_REQUESTS_PER_THREAD):
                method, target, body = requests.next()
                if time.monotonic() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    conn.request(method, target, body=body, headers=_headers(key, body))
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    errors[index] += 1
                    conn.close()
                    continue
                latencies[index].append(time.perf_counter() - started)
                if response.status != path.expect:
                    errors[index] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    merged = sorted(x for per_thread in latencies for x in per_thread)

    def percentile(p: float) -> float:
        return merged[min(len(merged) - 1, int(p / 100 * len(merged)))] * 1e3 if merged else 0.0

    return Result(
        requests=len(merged),
        duration_s=elapsed,
        p50_ms=percentile(50),
        p90_ms=percentile(90),
        p99_ms=percentile(99),
        max_ms=merged[-1] * 1e3 if merged else 0.0,
        mean_ms=sum(merged) / len(merged) * 1e3 if merged else 0.0,
        errors={"status": sum(errors)} if sum(errors) else {},
    )


def check(base_url: str, path: Path, *, key: str, slugs: list[str], tag: str) -> str | None:
    """Send one request of `path`; None if the answer is right, else what is wrong with it."""
    batch = _batch(path)
    method, target, body = Requests(
        path.method, path.target, slugs, tag, 0, batch, path.hostile_urls, texts_for(path)
    ).next()
    conn = _connection(base_url)
    try:
        conn.request(method, target, body=body, headers=_headers(key, body))
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    if response.status != path.expect:
        return f"status {response.status} (expected {path.expect}): {raw[:300]!r}"
    answer: Any = json.loads(raw)
    if path.sightings > 1 and answer.get("created") != batch:
        return f"created {answer.get('created')} of {batch}"
    if path.sightings == 1 and not answer.get("id"):
        return "no id in the answer"
    if path.shape == "match":
        return match_texts.first_match(answer, match_texts.cases()[0][0])
    if path.method == "GET":
        return _check_shape(path.shape, answer)
    return None


def _check_shape(shape: str, answer: Any) -> str | None:
    if shape == "timeline":
        buckets = answer.get("buckets") or []
        if not buckets or not any(bucket["sightings"] for bucket in buckets):
            return f"{len(buckets)} buckets, none with sightings"
        return None
    if shape == "coverage":
        # The seed holds far more narratives (seed.CATALOGUE) than a page: a full one.
        items = answer.get("items", [])
        if len(items) != PAGE_LIMIT or not answer.get("overall", {}).get("sightings"):
            return f"{len(items)} narratives (expected a full page of {PAGE_LIMIT}) or no sightings"
        return None
    if len(answer.get("items", [])) != PAGE_LIMIT:
        return f"{len(answer.get('items', []))} items (expected a full page of {PAGE_LIMIT})"
    return None


def _batch(path: Path) -> int:
    """Sightings per request body: 0 for one sighting."""
    if path.sightings <= 1:
        return 0
    return path.sightings if path.hostile_urls else BATCH_SIZE
