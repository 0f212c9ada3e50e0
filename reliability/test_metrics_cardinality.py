"""Invented methods and paths, sent without a key, against a real gunicorn with its
multiprocess metrics: /metrics must keep the same series, the same size and a similar scrape
time however much of that traffic arrives (every label comes from a fixed set)."""

import os
import random
import string
import time

from reliability.figures import FIGURES

SECTION = "metrics cardinality"
REQUESTS = int(os.environ.get("RELIABILITY_METRICS_REQUESTS", "3000"))


def _series(text: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")}


def _scrape(server) -> tuple[str, float]:
    started = time.monotonic()
    response = server.request("GET", "/metrics")
    assert response.status == 200, response.describe()
    return response.body.decode(), time.monotonic() - started


def test_invented_methods_and_paths_leave_metrics_bounded(start_gunicorn):
    server = start_gunicorn(workers=2)
    # One request of each kind first: the series they mint are part of the fixed set.
    for method in ("GET", "BREW"):
        for path in ("/nowhere", "/v1/narratives/somewhere", "/healthz", "/metrics"):
            server.request(method, path)
    before, before_seconds = _scrape(server)

    rng = random.Random(20240326)
    statuses: dict[int, int] = {}
    for _ in range(REQUESTS):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 20)))
        path = "/" + "/".join(
            "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
            for _ in range(rng.randint(1, 4))
        )
        status = server.request(method, rng.choice([path, "/v1/narratives" + path])).status
        statuses[status] = statuses.get(status, 0) + 1
    after, after_seconds = _scrape(server)

    new = _series(after) - _series(before)
    FIGURES.set(SECTION, "requests sent", REQUESTS)
    FIGURES.set(SECTION, "5xx", sum(n for s, n in statuses.items() if s >= 500))
    FIGURES.set(SECTION, "series before", len(_series(before)))
    FIGURES.set(SECTION, "series after", len(_series(after)))
    FIGURES.set(SECTION, "bytes before", len(before))
    FIGURES.set(SECTION, "bytes after", len(after))
    FIGURES.set(SECTION, "scrape ms before", round(before_seconds * 1000, 1))
    FIGURES.set(SECTION, "scrape ms after", round(after_seconds * 1000, 1))
    assert not new, sorted(new)[:5]
    assert all(status < 500 for status in statuses), statuses
