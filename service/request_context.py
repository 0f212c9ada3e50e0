"""Per-request plumbing: request ids, and refusing bodies that are not JSON."""

import re
import time
import uuid
from typing import Any

from flask import Flask, current_app, g, request
from flask_smorest import abort

from service import jsonio

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _assign_id() -> None:
    g.started = time.perf_counter()
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex


def require_json_body() -> None:
    """before_request: a body that is not JSON is refused (415) before any view parses it."""
    if _chunked_past_cap():
        abort(413, message="The body is over the size limit.", kind="too-large")
    if request.method in _BODY_METHODS and _has_body() and not request.is_json:
        abort(
            415,
            message="Send the body as JSON with Content-Type: application/json.",
            kind="unsupported-media-type",
        )


def _chunked_past_cap() -> bool:
    """werkzeug stops reading a chunked body at MAX_CONTENT_LENGTH without saying so: a body
    that reaches the cap was cut, and must not be processed as if it were whole."""
    cap = current_app.config["MAX_CONTENT_LENGTH"]
    if not cap or request.content_length is not None:
        return False
    if not _chunked():
        return False
    return len(request.get_data(cache=True)) >= cap


def _chunked() -> bool:
    """Whether the body is sent chunked. Transfer codings are case-insensitive and listed
    (RFC 9112 section 6.1): `Chunked` and `gzip, chunked` are chunked too."""
    codings = request.headers.get("Transfer-Encoding", "")
    return "chunked" in (coding.strip().lower() for coding in codings.split(","))


def _has_body() -> bool:
    return bool(request.content_length) or _chunked()


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


def json_body() -> Any:
    """The request body as JSON, for views that validate item by item; malformed JSON (or JSON
    nested deep enough to exhaust the parser) is a 400 problem."""
    try:
        return jsonio.loads_request(request.get_data(cache=True))
    except jsonio.DuplicateKey as exc:
        abort(400, message=str(exc), kind="malformed-json")
    except ValueError:
        abort(400, message="The request body is not valid JSON.", kind="malformed-json")
