"""Every request's id (taken from X-Request-ID when sane, else made), and the headers every
answer carries: the id, no sniffing, a content policy and a cache policy."""

import re
import time
import uuid

from flask import Flask, g, request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _assign_id() -> None:
    g.started = time.perf_counter()
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex


# Every answer is JSON (or the docs page, which sets its own policy): nothing in it may load
# or run anything, nor be framed.
_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Blueprints whose answers hold secrets or key metadata: never stored by any cache.
_NO_STORE_BLUEPRINTS = frozenset({"keys"})


def _finish(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", _CSP)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = _cache_control(response.status_code)
    return response


def _cache_control(status: int) -> str:
    """A keyed answer is the caller's own (`private`) and must be revalidated before reuse
    (`no-cache`); errors, writes and key records are never stored."""
    if request.method not in ("GET", "HEAD") or status != 200:
        return "no-store"
    if request.blueprint in _NO_STORE_BLUEPRINTS:
        return "no-store"
    return "private, no-cache" if g.get("api_key") else "no-cache"


def init_app(app: Flask) -> None:
    app.before_request(_assign_id)
    app.after_request(_finish)
