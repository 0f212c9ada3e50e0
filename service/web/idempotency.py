"""`Idempotency-Key` for POSTs (draft-ietf-httpapi-idempotency-key-header).

A client that may retry sends a unique key with the POST. The first request claims the key and
its successful response is stored in the same transaction as the write it describes; a retry
with the same key and body gets that response again (`Idempotent-Replayed: true`), a retry with
a different body gets 422, and a retry racing the first waits for it. Errors are not stored:
retrying a refused request re-validates it.
"""

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from flask import Response, g, request
from flask_smorest import abort

from service import db
from service.repo import idempotency as repo
from service.web import auth, body

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("Location", "Content-Type")


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a POST view (outside flask-smorest's response decorator, so it sees a Response)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        fingerprint = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        key_name = auth.current_key_name() or ""
        with db.transaction() as conn:
            earlier = _claim(conn, key_name, key, fingerprint)
            if earlier is not None and earlier["status"] is not None:
                return _replay(earlier, fingerprint)
            return _remember(conn, key_name, key, view(*args, **kwargs))

    return wrapper


def _claim(conn: Any, key_name: str, key: str, request_hash: str) -> dict[str, Any] | None:
    """Claim the key for this request (a concurrent retry waits here); the earlier claim's
    record when there was one."""
    return repo.claim(
        conn,
        key_name=key_name,
        key=key,
        method=request.method,
        path=request.path,
        request_hash=request_hash,
    )


def _remember(
    conn: Any, key_name: str, key: str, response: Any, *, request_hash: str | None = None
) -> Response:
    """Store a successful response under its key, in the write's own transaction (errors are
    not stored: a retry of a refused request is validated afresh)."""
    if not isinstance(response, Response):
        raise TypeError("idempotent views must return a Response")
    if response.status_code < 400:
        headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
        repo.store(
            conn,
            key_name=key_name,
            key=key,
            status=response.status_code,
            headers=headers,
            body=response.get_data(as_text=True),
            request_hash=request_hash,
        )
    return response


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not _VALID.match(key):
        abort(
            400,
            message=f"{HEADER} must be 1-255 visible ASCII characters.",
            kind="bad-idempotency-key",
        )
    return key


_DIGEST = "_idempotency_body_digest"
_PENDING = "pending"  # never seen by another request: the claim commits with the real hash


def idempotent_stream(view: Callable[..., Any]) -> Callable[..., Any]:
    """@idempotent for a view that reads its body as a stream (`streamed_body()`), so that the
    body cannot be hashed before the view runs. The key is claimed first (a concurrent retry
    waits here, as above), the body is hashed as the view reads it, and the hash is stored with
    the response in the view's transaction. A retry of a stored request only reads its body
    through, to hash it, before the response is replayed (or refused as another request)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        digest = hashlib.sha256()
        setattr(g, _DIGEST, digest)
        key_name = auth.current_key_name() or ""
        with db.transaction() as conn:
            earlier = _claim(conn, key_name, key, _PENDING)
            if earlier is not None and earlier["status"] is not None:
                body = streamed_body()
                while body.read(1 << 18):
                    pass
                return _replay(earlier, digest.hexdigest())
            response = view(*args, **kwargs)
            return _remember(conn, key_name, key, response, request_hash=digest.hexdigest())

    return wrapper


class _Hashing:
    def __init__(self, stream: Any, digest: Any) -> None:
        self.stream, self.digest = stream, digest

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data


def streamed_body() -> Any:
    """The request body as a stream to read (never whole), hashed on the way for
    @idempotent_stream."""
    digest = g.get(_DIGEST)
    whole = body.stream()
    return whole if digest is None else _Hashing(whole, digest)


def _replay(earlier: dict[str, Any], fingerprint: str) -> Response:
    if (earlier["method"], earlier["path"], earlier["request_hash"]) != (
        request.method,
        request.path,
        fingerprint,
    ):
        abort(
            422,
            message=f"This {HEADER} was used for a different request.",
            kind="idempotency-key-reused",
            errors={HEADER: ["Used with another body or path."]},
        )
    response = Response(earlier["body"], status=earlier["status"], headers=earlier["headers"])
    response.headers["Idempotent-Replayed"] = "true"
    return response
