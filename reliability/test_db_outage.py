"""While PostgreSQL is down, requests that need it get a 503 problem+json with Retry-After, quickly
(never a hang, never a 500); /readyz fails and /healthz stays up. When PostgreSQL returns, the same
gunicorn (same master, same workers: no restart) serves again by itself.

Default settings throughout (DB_POOL_TIMEOUT and the rest), as deployed.

Knobs (environment): RELIABILITY_OUTAGE_SECONDS (default 45): how long PostgreSQL stays down;
RELIABILITY_MAX_503_SECONDS (default 5): the longest a request may take to be refused while it is
down; RELIABILITY_MAX_HEALTHZ_SECONDS (default 2): the longest /healthz may take meanwhile, even
while other requests are being refused (a liveness probe that times out gets the pod restarted); RELIABILITY_RECOVERY_SECONDS (default 10): how soon after PostgreSQL is back every worker
must serve again.
"""

from __future__ import annotations

import http.client
import os
import time
from concurrent.futures import ThreadPoolExecutor

from reliability.figures import FIGURES
from reliability.harness import Response, issue_key

SECTION = "database outage"

SIGHTING = {
    "narrative": "outage-narrative",
    "observed_at": "2024-03-26T12:00:00Z",
    "source": {"name": "Outage channel", "kind": "channel"},
    "language": "ru",
}

# (method, path, body): each needs the database (the key is checked there too, once the
# per-process key cache has expired).
NEEDS_DB = [
    ("GET", "/v1/narratives", None),
    ("GET", "/v1/narratives/outage-narrative", None),
    ("GET", "/v1/sightings?limit=5", None),
    ("POST", "/v1/sightings", SIGHTING),
    ("POST", "/v1/narratives", {"title": "Made during the outage"}),
]


def _ask(server, method, path, body=None, timeout=30) -> Response | str:
    try:
        return server.request(method, path, body, timeout=timeout)
    except (OSError, http.client.HTTPException) as error:
        return f"{type(error).__name__}: {error}"


def test_outage_gives_fast_503s_and_the_service_recovers_by_itself(
    postgres, start_gunicorn, database_url
):
    max_503 = float(os.environ.get("RELIABILITY_MAX_503_SECONDS", "5"))
    max_healthz = float(os.environ.get("RELIABILITY_MAX_HEALTHZ_SECONDS", "2"))
    recovery = float(os.environ.get("RELIABILITY_RECOVERY_SECONDS", "10"))
    outage = float(os.environ.get("RELIABILITY_OUTAGE_SECONDS", "45"))
    watch = max(recovery, float(os.environ.get("RELIABILITY_RECOVERY_WATCH", "30")))
    key, _ = issue_key(database_url, "outage-admin", "admin")
    server = start_gunicorn(workers=2, key=key)
    created = server.request(
        "POST", "/v1/narratives", {"slug": "outage-narrative", "title": "Outage"}
    )
    assert created.status == 201, created.describe()
    master, workers = server.process.pid, server.worker_pids()
    problems: list[str] = []
    sent = 0
    burst_slowest = 0.0
    healthz_in_burst = 0.0
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def record(label: str, answer: Response | str) -> Response | None:
        nonlocal sent
        sent += 1
        if isinstance(answer, str):
            problems.append(f"{label}: no answer ({answer})")
            return None
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        if answer.status >= 500 and answer.status != 503:
            problems.append(f"{label}: {answer.describe()}")
        return answer

    def check_503(label: str, answer: Response | str) -> None:
        answer = record(label, answer)
        if answer is None:
            return
        latencies.append(answer.elapsed)
        if answer.status != 503:
            problems.append(f"{label}: expected 503, got {answer.describe()}")
            return
        if answer.content_type != "application/problem+json":
            problems.append(f"{label}: 503 as {answer.content_type}")
        retry_after = answer.header("Retry-After") or ""
        if not retry_after.isdigit() or int(retry_after) < 1:
            problems.append(f"{label}: 503 with Retry-After {retry_after!r}")
        if answer.elapsed > max_503:
            problems.append(f"{label}: 503 took {answer.elapsed:.1f}s (limit {max_503}s)")

    postgres.stop()
    down_at = time.monotonic()
    try:
        time.sleep(6)  # past AUTH_CACHE_SECONDS: the key itself now needs the database
        health = record("GET /healthz", _ask(server, "GET", "/healthz"))
        if health and (health.status != 200 or health.elapsed > 1):
            problems.append(f"/healthz while down: {health.status} in {health.elapsed:.2f}s")
        ready = record("GET /readyz", _ask(server, "GET", "/readyz"))
        if ready and ready.status != 503:
            problems.append(f"/readyz while down: {ready.describe()}")
        elif ready and ready.elapsed > max_503:
            problems.append(f"/readyz while down took {ready.elapsed:.1f}s")
        for method, path, body in NEEDS_DB:
            check_503(f"{method} {path}", _ask(server, method, path, body))

        # A burst, three clients per worker. Its slowest refusal is informational (with sync
        # workers each refusal holds a worker for DB_POOL_TIMEOUT, so later clients queue).
        # Liveness is asked in the middle of it: it must not queue behind the refusals.
        with ThreadPoolExecutor(max_workers=7) as pool:
            asked = [pool.submit(_ask, server, "GET", "/v1/sightings") for _ in range(6)]
            time.sleep(0.5)
            live = pool.submit(_ask, server, "GET", "/healthz").result()
            burst = [future.result() for future in asked]
        live = record("GET /healthz during the burst", live)
        if live is not None:
            healthz_in_burst = live.elapsed
            if live.status != 200 or live.elapsed > max_healthz:
                problems.append(
                    f"/healthz during a burst of refused requests: {live.status} after "
                    f"{live.elapsed:.1f}s (limit {max_healthz}s)"
                )
        for answer in burst:
            answer = record("burst GET /v1/sightings", answer)
            if answer is not None and answer.status != 503:
                problems.append(f"burst while down: {answer.describe()}")
        burst_slowest = max((a.elapsed for a in burst if not isinstance(a, str)), default=0.0)

        # Keep it down for the whole outage, asking all along; /healthz must never falter.
        while time.monotonic() - down_at < outage:
            check_503("GET /v1/sightings (later)", _ask(server, "GET", "/v1/sightings"))
            health = record("GET /healthz", _ask(server, "GET", "/healthz"))
            if health and (health.status != 200 or health.elapsed > 1):
                problems.append(f"/healthz while down: {health.status} in {health.elapsed:.2f}s")
    finally:
        postgres.start()
    back_at = time.monotonic()

    # Recovery: without touching gunicorn, requests succeed again. "Every worker" is approximated
    # by ten successes in a row on fresh connections; recovery is when that streak began.
    recovered_after = None
    streak_began = None
    streak = 0
    while time.monotonic() - back_at < watch:
        began = time.monotonic()
        answer = record(
            "recovery GET /v1/narratives", _ask(server, "GET", "/v1/narratives", timeout=15)
        )
        ready = record("recovery GET /readyz", _ask(server, "GET", "/readyz", timeout=15))
        if (
            answer is not None
            and answer.status == 200
            and ready is not None
            and ready.status == 200
        ):
            streak_began = began if streak == 0 else streak_began
            streak += 1
        else:
            streak = 0
        if streak >= 10:
            recovered_after = streak_began - back_at
            break
        time.sleep(0.2)
    posted = _ask(
        server, "POST", "/v1/sightings", {**SIGHTING, "url": "https://outage.example/after"}
    )

    FIGURES.set(SECTION, "requests sent", sent + 1)
    FIGURES.set(SECTION, "5xx", sum(n for s, n in statuses.items() if s >= 500 and s != 503))
    FIGURES.set(SECTION, "503", statuses.get(503, 0))
    FIGURES.set(SECTION, "slowest 503 s", round(max(latencies, default=0.0), 2))
    FIGURES.set(SECTION, "burst of 6 slowest s", round(burst_slowest, 2))
    FIGURES.set(SECTION, "healthz in burst s", round(healthz_in_burst, 2))
    FIGURES.set(SECTION, "down s", round(back_at - down_at, 1))
    FIGURES.set(
        SECTION,
        "recovered after s",
        "never" if recovered_after is None else round(recovered_after, 1),
    )

    seen = "never" if recovered_after is None else f"after {recovered_after:.1f}s"
    if recovered_after is None or recovered_after > recovery:
        problems.append(
            f"after a {back_at - down_at:.0f}s outage the service served again {seen} (watched "
            f"{watch:.0f}s) once PostgreSQL was back (limit {recovery}s)"
        )
    if isinstance(posted, str) or posted.status != 201:
        problems.append(f"POST /v1/sightings after recovery: {getattr(posted, 'status', posted)}")
    if server.process.pid != master or server.process.poll() is not None:
        problems.append("the gunicorn master is gone")
    if server.worker_pids() != workers:
        problems.append("workers were replaced: the service did not recover by itself")
    assert not problems, "\n".join(problems)
