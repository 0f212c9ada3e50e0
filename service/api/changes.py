"""/v1/changes (reader): every create, update, archive and delete of narratives, sightings and
rebuttals, in the order their transactions became visible, with a cursor that never skips one.

A consumer stores `next_cursor` and asks again with it as `after`, now or in a week: it sees each
committed change once, and never one that was rolled back. Changes of a transaction still in
flight are held back until it ends (and so is everything after them: the feed trails the
oldest running transaction).
"""

import base64
import binascii
import hashlib
import json
import uuid
from typing import Any, NoReturn

from flask.views import MethodView
from flask_smorest import abort

from service import db
from service.api.blueprint import Blueprint
from service.api.lookups import narrative_or_404
from service.repo import changes as repo
from service.schemas.changes import ChangePage, ChangeQuery
from service.schemas.narratives import NarrativeOut
from service.schemas.rebuttals import RebuttalOut
from service.schemas.sightings import SightingOut

blp = Blueprint(
    "changes",
    __name__,
    url_prefix="/v1/changes",
    description="A feed of every change, in commit order, that never skips one.",
)

_LISTING = "changes"
_SHAPES = {"narrative": NarrativeOut(), "sighting": SightingOut(), "rebuttal": RebuttalOut()}


@blp.route("")
class Changes(MethodView):
    @blp.requires("reader")
    @blp.arguments(ChangeQuery, location="query", as_kwargs=True)
    @blp.response(200, ChangePage)
    def get(
        self,
        limit: int,
        after: str | None = None,
        types: list[str] | None = None,
        narrative: str | None = None,
    ):
        """Changes after a cursor, oldest first.

        Each event carries the resource as its GET shows it now (not as it was then), or only
        its id once it is gone. Pass `next_cursor` back as `after`; it is never null, and an
        empty page means nothing new yet."""
        with db.connection() as conn:
            narrative_id = narrative_or_404(conn, narrative)["id"] if narrative else None
            filters = _fingerprint(types, narrative_id)
            position = decode_cursor(after, filters) if after else (0, 0)
            xmin = repo.snapshot_xmin(conn)
            until = repo.scan_end(conn, xmin=xmin, after=position)
            rows = repo.page(
                conn,
                xmin=xmin,
                after=position,
                until=until,
                limit=limit,
                types=types,
                narrative=narrative_id,
            )
            items = _events(conn, rows[:limit])
        more = len(rows) > limit or until is not None
        if len(rows) > limit:
            last = rows[limit - 1]
            position = (last["xid"], last["id"])
        elif until is not None:
            # The scan's window ended before the page filled: go on from its end next time.
            position = until
        else:
            # Every matching event below xmin has been returned, and no transaction can still
            # write below it: the next page may start at xmin, so idle polls stay cheap.
            if rows:
                position = (rows[-1]["xid"], rows[-1]["id"])
            position = max(position, (xmin, 0))
        return {
            "items": items,
            "next_cursor": encode_cursor(position, filters),
            "has_more": more,
        }


def _events(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        if not row["type"].endswith(".deleted"):
            wanted.setdefault(row["resource"], []).append(row["record_id"])
    found = {name: repo.current(conn, name, ids) for name, ids in wanted.items()}
    events = []
    for row in rows:
        current = found.get(row["resource"], {}).get(row["record_id"])
        events.append(
            {
                "id": f"evt_{row['id']}",
                "type": row["type"],
                "occurred_at": row["occurred_at"],
                "resource_type": row["resource"],
                "resource_id": row["record_id"],
                "resource": _SHAPES[row["resource"]].dump(current) if current else None,
                "by": row["by"],
            }
        )
    return events


def _fingerprint(types: list[str] | None, narrative: uuid.UUID | None) -> str:
    """Names the filters a cursor was made with. A page that runs out of matches moves the
    cursor past events the filters left out, so the cursor must not be used with others."""
    raw = json.dumps([sorted(set(types or [])), str(narrative or "")])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(position: tuple[int, int], filters: str) -> str:
    raw = json.dumps([_LISTING, str(position[0]), position[1], filters], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, filters: str) -> tuple[int, int]:
    """The (xid, audit id) a cursor points after; a 400 problem if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        _bad_cursor("The cursor is malformed.")
    if not (isinstance(decoded, list) and len(decoded) == 4 and decoded[0] == _LISTING):
        _bad_cursor("The cursor does not belong to the change feed.")
    _, xid, id_, made_for = decoded
    if not (isinstance(xid, str) and xid.isdigit() and len(xid) <= 20):
        _bad_cursor("The cursor is malformed.")
    if not (isinstance(id_, int) and not isinstance(id_, bool) and 0 <= id_ < 2**63):
        _bad_cursor("The cursor is malformed.")
    if int(xid) >= 2**64:
        _bad_cursor("The cursor is malformed.")
    if made_for != filters:
        _bad_cursor("The cursor was made with other filters (types, narrative); use the same.")
    return int(xid), id_


def _bad_cursor(detail: str) -> NoReturn:
    abort(400, message=detail, errors={"after": [detail]}, kind="bad-cursor")
