"""Opaque keyset cursors.

A cursor is the sort key of the last item of a page, base64url-encoded with the name of the list
it belongs to, so a cursor from one list cannot silently page another. Keyset (not offset)
pagination keeps pages stable while monitors insert concurrently.
"""

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any, NoReturn

from flask_smorest import abort


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


def _bad_cursor(detail: str = "The cursor is malformed or expired.") -> NoReturn:
    abort(400, message=detail, errors={"cursor": [detail]}, kind="bad-cursor")
