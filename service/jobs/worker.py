"""The background worker (`python -m service worker`): a loop over the job registry
(service/jobs/__init__.py). Each job runs when it is due, under its own advisory lock, so
several workers share the work without doing any round twice at once. A failed round (the
database blipped) is logged and tried again when next due. SIGTERM/SIGINT end the loop after
the current round."""

import logging
import signal
import threading
import time
from typing import Any

import prometheus_client
import psycopg

from service import db
from service.config import Settings
from service.jobs import MORE, Job, registry

log = logging.getLogger("narratives.worker")
# The loop never sleeps longer than this, so a short job and SIGTERM are both noticed quickly.
MAX_TICK_SECONDS = 1.0


def run_once(url: str, job: Job, settings: Settings) -> dict[str, Any] | None:
    """One round of one job; None when another worker holds its lock."""
    with db.connect(url) as conn:
        conn.autocommit = True
        if not job.exclusive:
            return job.run(conn, settings) or {}
        locked = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (job.lock_key,))
        if not locked.fetchone()["ok"]:
            return None
        try:
            with conn.transaction():
                return job.run(conn, settings) or {}
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (job.lock_key,))


def run(url: str, settings: Settings, *, rounds: int | None = None) -> None:
    """Run every job when due until SIGTERM, or until each has run `rounds` times."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    jobs = registry()
    if settings.WORKER_METRICS_PORT:
        # The worker's own /metrics (webhook deliveries, queue depth), apart from the API's.
        prometheus_client.start_http_server(settings.WORKER_METRICS_PORT)
    due = dict.fromkeys((job.name for job in jobs), 0.0)
    done = dict.fromkeys(due, 0)
    log.info("worker started", extra={"jobs": [job.name for job in jobs]})
    while not stop.is_set():
        for job in jobs:
            if time.monotonic() < due[job.name] or stop.is_set():
                continue
            more = False
            try:
                outcome = run_once(url, job, settings)
                more = bool(outcome and outcome.pop(MORE, False))
                if outcome:
                    log.info(job.name, extra=outcome)
            except psycopg.Error as exc:
                log.warning("%s failed: %s", job.name, exc.__class__.__name__)
            done[job.name] += 1
            due[job.name] = time.monotonic() + (0.0 if more else job.every(settings))
        if rounds is not None and min(done.values(), default=rounds) >= rounds:
            break
        next_due = min(due.values(), default=time.monotonic() + MAX_TICK_SECONDS)
        stop.wait(max(0.0, min(MAX_TICK_SECONDS, next_due - time.monotonic())))
    log.info("worker stopped")
