"""Request bodies: refused unless JSON (415), cut at the size cap (413) however they are sent,
and parsed strictly (400) for the views that read the body themselves."""

from typing import Any

from flask import Flask, current_app, request
from flask_smorest import abort
from werkzeug.exceptions import ClientDisconnected

from service.web import jsonio

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


# Endpoints that read their body themselves, as a stream: {endpoint: (media type, the setting
# that caps the body)}. MAX_CONTENT_LENGTH (and its whole-body read of a chunked body) is not
# theirs: the view reads in chunks, and werkzeug stops it with a 413 at the endpoint's own cap.
_STREAMED: dict[str, tuple[str, str]] = {}


def streamed(endpoint: str, media_type: str, cap_setting: str) -> None:
    _STREAMED[endpoint] = (media_type, cap_setting)


def require_json_body() -> None:
    """before_request: a body that is not JSON is refused (415) before any view parses it.
    A request no route takes (404, or 405 for a method the route lacks) is left to say so."""
    if request.routing_exception is not None:
        return
    stream = _STREAMED.get(request.endpoint or "")
    if stream is not None:
        _require_stream(*stream)
        return
    if _chunked_past_cap():
        abort(413, message="The body is over the size limit.", kind="too-large")
    if request.method in _BODY_METHODS and _has_body() and not request.is_json:
        abort(
            415,
            message="Send the body as JSON with Content-Type: application/json.",
            kind="unsupported-media-type",
        )


def _require_stream(media_type: str, cap_setting: str) -> None:
    # The media type is checked when the view asks for the stream (`stream`), after the role:
    # a caller who may not import is told so whatever they send.
    cap = current_app.config[cap_setting]
    request.max_content_length = cap
    if request.content_length is not None and request.content_length > cap:
        abort(413, message=f"The body is over the {cap}-byte limit.", kind="too-large")


def stream() -> Any:
    """The request body to read in chunks, for the views listed in _STREAMED (415 unless in
    the media type they read). A body shorter than its Content-Length (the client went away)
    ends in ClientDisconnected, a 400, never in a quiet end of the stream: gunicorn marks its
    input as terminated, and werkzeug then leaves the length to the server, which just stops."""
    media_type, _ = _STREAMED[request.endpoint or ""]
    if request.mimetype != media_type:
        abort(
            415,
            message=f"Send the body with Content-Type: {media_type}.",
            kind="unsupported-media-type",
        )
    return _Whole(request.stream, request.content_length)


class _Whole:
    def __init__(self, source: Any, length: int | None) -> None:
        self.source, self.length, self.read_so_far = source, length, 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.read_so_far += len(data)
        if not data and self.length is not None and self.read_so_far < self.length:
            raise ClientDisconnected()
        return data


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


def json_body() -> Any:
    """The request body as JSON, for views that validate item by item; malformed JSON (or JSON
    nested deep enough to exhaust the parser) is a 400 problem."""
    try:
        return jsonio.loads_request(request.get_data(cache=True))
    except jsonio.DuplicateKey as exc:
        abort(400, message=str(exc), kind="malformed-json")
    except ValueError:
        abort(400, message="The request body is not valid JSON.", kind="malformed-json")


def init_app(app: Flask) -> None:
    app.before_request(require_json_body)
