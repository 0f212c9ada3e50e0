"""Per-key rate limits: RATE_LIMIT_PER_MINUTE requests per key per calendar minute (0 turns it
off), shared by every worker and replica through PostgreSQL. Over the limit: 429 problem+json
with Retry-After; every keyed answer carries RateLimit-Limit / -Remaining / -Reset.

Counting in the database on every request would cost a round trip and serialise each key's
requests on one row. Instead each process counts locally and adds its counts to the shared
window at most once a second, and at once whenever its estimate reaches the limit, so a refusal
is always decided on fresh figures; the limit may be overshot by about a second of traffic.
"""

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, g
from flask_smorest import abort

from service import db
from service.repo import ratelimit as repo

SYNC_SECONDS = 1.0
_STATE = "narratives.rate_limits"


@dataclass
class Window:
    """This process's view of the current minute."""

    minute: int = 0
    pending: dict[str, int] = field(default_factory=dict)  # counted here, not yet shared
    shared: dict[str, int] = field(default_factory=dict)  # every process's, at the last sync
    synced_at: float = 0.0
    reset_in: int = 60
    lock: threading.Lock = field(default_factory=threading.Lock)


def check() -> None:
    """before_request, after authentication."""
    limit = current_app.config["RATE_LIMIT_PER_MINUTE"]
    key = g.get("api_key")
    if not limit or key is None:
        return
    name = key["name"]
    window: Window = current_app.extensions[_STATE]
    now = time.time()
    with window.lock:
        minute = int(now // 60)
        if minute != window.minute:
            window.minute, window.pending, window.shared = minute, {}, {}
        window.pending[name] = window.pending.get(name, 0) + 1
        used = window.shared.get(name, 0) + window.pending[name]
        due = now - window.synced_at >= SYNC_SECONDS or used > limit
        pending = dict(window.pending) if due else None
        if due:
            window.pending, window.synced_at = {}, now
    if pending:
        with db.connection() as conn:
            totals = repo.add(conn, pending)
        with window.lock:
            for total in totals:
                window.shared[total["key_name"]] = total["hits"]
                window.reset_in = total["reset_in"]
            used = window.shared.get(name, 0) + window.pending.get(name, 0)
    reset_in = max(1, window.reset_in if pending else 60 - int(now % 60))
    g.rate_limit = (limit, max(0, limit - used), reset_in)
    if used > limit:
        abort(
            429,
            message=f"The key '{name}' may make {limit} requests a minute; retry in {reset_in} s.",
            kind="rate-limited",
            headers={"Retry-After": str(reset_in)},
        )


def _headers(response: Response) -> Response:
    state = g.get("rate_limit")
    if state:
        limit, remaining, reset_in = state
        response.headers["RateLimit-Limit"] = str(limit)
        response.headers["RateLimit-Remaining"] = str(remaining)
        response.headers["RateLimit-Reset"] = str(reset_in)
    return response


def init_app(app: Flask) -> None:
    app.extensions[_STATE] = Window()
    app.before_request(check)
    app.after_request(_headers)
