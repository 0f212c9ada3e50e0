"""Housekeeping: forget what has expired, so tables the request path writes stay small."""

from typing import Any

from psycopg import Connection

from service.config import Settings
from service.jobs import job
from service.repo import idempotency, ratelimit


@job("housekeeping", every=lambda settings: settings.WORKER_INTERVAL_SECONDS)
def purge_expired(conn: Connection, settings: Settings) -> dict[str, Any]:
    """Idempotency-Key responses older than IDEMPOTENCY_TTL_HOURS, closed rate-limit windows."""
    return {
        "idempotency_keys": idempotency.purge(
            conn, older_than_hours=settings.IDEMPOTENCY_TTL_HOURS
        ),
        "rate_limit_windows": ratelimit.purge(conn),
    }
