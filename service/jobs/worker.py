"""The background worker (`python -m service worker`): housekeeping the API must not do on its
request path. Every WORKER_INTERVAL_SECONDS it forgets Idempotency-Key responses older than
IDEMPOTENCY_TTL_HOURS and rate-limit windows that have closed. Several workers may run: an
advisory lock lets one do a round while the others skip it. SIGTERM/SIGINT end it after the
current round."""

import logging
import signal
import threading

import psycopg

from service import db
from service.repo import idempotency, ratelimit

log = logging.getLogger("narratives.worker")
LOCK_KEY = 0x6E61727277726B72  # "narrwrkr": one housekeeping round at a time


def housekeeping_round(url: str, ttl_hours: int) -> dict[str, int] | None:
    """One round; None when another worker holds the lock."""
    with db.connect(url) as conn:
        conn.autocommit = True
        if not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (LOCK_KEY,)).fetchone()["ok"]:
            return None
        try:
            return {
                "idempotency_keys": idempotency.purge(conn, older_than_hours=ttl_hours),
                "rate_limit_windows": ratelimit.purge(conn),
            }
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def run(url: str, *, interval: float, ttl_hours: int, rounds: int | None = None) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    done = 0
    log.info("worker started", extra={"interval_s": interval, "ttl_hours": ttl_hours})
    while not stop.is_set():
        try:
            purged = housekeeping_round(url, ttl_hours)
            if purged:
                log.info("housekeeping", extra=purged)
        except psycopg.Error as exc:  # the database blipped: try again next round
            log.warning("housekeeping failed: %s", exc.__class__.__name__)
        done += 1
        if rounds is not None and done >= rounds:
            break
        stop.wait(interval)
    log.info("worker stopped")
