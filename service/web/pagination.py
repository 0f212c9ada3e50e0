"""Lists, on the HTTP side: opaque keyset cursors, and `@paginated` for list views.

A cursor is the sort key of the last item of a page, base64url-encoded with the name of the list
it belongs to, so a cursor from one list cannot silently page another. A list view decorated
with `@paginated(listing, key)` receives a `page` (service.repo.pages.Page) instead of `limit`
and `cursor`, returns the rows a repo function found for it, and answers the list envelope.
"""

import base64
import binascii
import functools
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

from flask_smorest import abort

from service.repo.pages import Page
from service.web.jsonio import rows_response


def encode(listing: str, at: datetime, id_: Any) -> str:
    raw = json.dumps([listing, at.isoformat(), str(id_)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(listing: str, cursor: str, id_type: type = uuid.UUID) -> tuple[datetime, Any]:
    """The (timestamp, id) a cursor points after; a 400 problem if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, at, id_ = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not (isinstance(name, str) and isinstance(at, str) and isinstance(id_, str)):
            _bad_cursor()
        if name != listing:
            _bad_cursor("The cursor belongs to another list.")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            _bad_cursor()
        return moment, id_type(id_)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        _bad_cursor()


def page(listing: str, rows: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    """Trim the look-ahead row (queries fetch limit + 1) and build the list envelope."""
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode(listing, last[key], last["id"])
    return {"items": items, "next_cursor": next_cursor}


def paginated(
    listing: str, key: str, *, id_type: type = uuid.UUID, render: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a list view (innermost, below `@blp.arguments`): `limit` and `cursor` become a
    `page`; the rows the view returns (up to limit + 1) become `{"items", "next_cursor"}`.

    With `render` (the default) the rows are already in the output schema's shape and are
    written straight out (service.web.jsonio.rows_response); without it the envelope goes
    through the view's response schema."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, limit: int, cursor: str | None = None, **kwargs: Any) -> Any:
            after = decode(listing, cursor, id_type) if cursor else None
            rows = view(*args, page=Page(limit, after), **kwargs)
            envelope = page(listing, rows, limit, key)
            return rows_response(envelope) if render else envelope

        return wrapper

    return decorator


def _bad_cursor(detail: str = "The cursor is malformed or expired.") -> NoReturn:
    abort(400, message=detail, errors={"cursor": [detail]}, kind="bad-cursor")
