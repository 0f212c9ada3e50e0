"""Conditional requests (RFC 9110 section 13): every successful GET carries a strong ETag and
honours If-None-Match with 304; a PATCH or DELETE may send If-Match, and is refused with 412
when the resource changed since the client read it, so two editors cannot overwrite each
other. If-Match stays optional: clients that never send it keep working.

The tag is a hash of the representation's bytes. Derived figures (a narrative's counts) change
without the row changing, so a version number would be a weak validator; the bytes are what
the client holds. A PATCH compares the same bytes: the resource as GET would render it, read
after its row is locked, so no other write can land between the comparison and the update.
"""

import hashlib
import re
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Flask, Response, request
from flask_smorest import abort

from service.repo.updates import lock_row
from service.web import jsonio
from service.web.problems import not_found

_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_TAGS = re.compile(rf"^\s*(?:\*|{_TAG}(?:\s*,\s*{_TAG})*)\s*$")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _tags(header_name: str) -> list[str] | None:
    """The entity-tags a header lists ('*' included), None when absent; a 400 when malformed."""
    value = request.headers.get(header_name)
    if value is None:
        return None
    if not _TAGS.match(value):
        abort(
            400,
            message=f'{header_name} must be "*" or a list of entity-tags such as "abc123".',
            errors={header_name: ["Malformed entity-tag list."]},
            kind="bad-precondition",
        )
    return [tag.strip() for tag in value.split(",")]


def require_current(
    conn: Any,
    table: str,
    id_: Any,
    *,
    current: Callable[[], dict[str, Any] | None],
    schema: ma.Schema,
    kind: str,
    ref: str,
) -> None:
    """If the request sent If-Match: lock the resource's row, then refuse (412) unless its
    current representation's tag is listed. Call it inside the write's transaction, first."""
    listed = _tags("If-Match")
    if listed is None:
        return
    lock_row(conn, table, id_)
    row = current()
    if row is None:
        not_found(kind, ref)
    if "*" in listed:
        return
    tag = etag_of(jsonio.dumps_bytes(schema.dump(row)))
    if tag not in listed:  # strong comparison: a weak tag never matches
        abort(
            412,
            message=f"The {kind} changed since it was read (its ETag is now {tag}); "
            "GET it again, reapply the change, and send the new ETag.",
            kind="precondition-failed",
            headers={"ETag": tag},
        )


def _check_if_none_match() -> None:
    """before_request: a malformed If-None-Match is refused before the view runs."""
    if request.method in ("GET", "HEAD"):
        _tags("If-None-Match")


def _tag_reads(response: Response) -> Response:
    """after_request: a strong ETag on every successful GET, and 304 when the client has it.
    A PATCH answers the new representation, so it carries that representation's tag too: an
    editor can chain changes without reading again."""
    if request.method not in ("GET", "HEAD", "PATCH") or response.status_code != 200:
        return response
    if response.direct_passthrough or response.is_streamed:
        return response
    response.headers["ETag"] = etag_of(response.get_data())
    if request.method == "PATCH":
        return response
    listed = _tags("If-None-Match")
    if listed and ("*" in listed or _weakly_listed(response.headers["ETag"], listed)):
        response.status_code = 304
        response.set_data(b"")
        for name in ("Content-Type", "Content-Length"):
            response.headers.pop(name, None)
    return response


def _weakly_listed(tag: str, listed: list[str]) -> bool:
    """If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x"."""
    return tag in (entry.removeprefix("W/") for entry in listed)


def init_app(app: Flask) -> None:
    app.before_request(_check_if_none_match)
    app.after_request(_tag_reads)
