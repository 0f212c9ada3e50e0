"""How narratives spread and whether rebuttals keep up: a narrative's timeline, and coverage
statistics over every narrative. Both are computed in SQL (service/repo/timeline.py,
service/repo/stats.py)."""

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any, NoReturn

from flask.views import MethodView
from flask_smorest import abort

from service import db
from service.api.blueprint import Blueprint
from service.api.lookups import narrative_or_404
from service.domain import stats as arithmetic
from service.formats import stats as formats
from service.repo import stats as repo
from service.repo import timeline
from service.schemas.stats import (
    MAX_BUCKETS,
    CoveragePage,
    CoverageQuery,
    Timeline,
    TimelineQuery,
)
from service.web.jsonio import rows_response

# Rebuttals listed on one timeline; `totals.rebuttals` counts all of them.
TIMELINE_REBUTTALS = 1000
_BIGINT = 2**63

blp = Blueprint(
    "stats",
    __name__,
    url_prefix="/v1",
    description="How narratives spread, and whether rebuttals keep up with them.",
)


@blp.route("/narratives/<ref>/timeline")
class NarrativeTimeline(MethodView):
    @blp.requires("reader")
    @blp.arguments(TimelineQuery, location="query", as_kwargs=True)
    @blp.response(200, Timeline)
    def get(
        self, ref: str, interval: str, from_: datetime | None = None, to: datetime | None = None
    ):
        """The narrative's sightings per hour, day or week, with its rebuttals on the same axis.

        Every bucket of the range is present, empty ones with zeros, in UTC; each splits its
        sightings by source kind and by language. False positives are not counted. The range
        is widened to whole buckets; one that would hold more than 2,000 buckets is refused
        (422), never cut short."""
        with db.connection() as conn:
            narrative = narrative_or_404(conn, ref)
            span = timeline.span(conn, narrative["id"])
            try:
                window = arithmetic.timeline_range(
                    interval,
                    start=from_,
                    end=to,
                    first_seen=span["first_seen_at"],
                    last_seen=span["last_seen_at"],
                    now=datetime.now(UTC),
                    max_buckets=MAX_BUCKETS,
                )
            except arithmetic.RangeError as exc:
                abort(
                    422,
                    message=str(exc),
                    errors={key: [str(exc)] for key in exc.fields},
                    kind="validation",
                )
            bounds = {"lo": window.start, "hi": window.end}
            rows = timeline.buckets(conn, narrative["id"], unit=interval, **bounds)
            rebuttals = timeline.rebuttals_between(
                conn, narrative["id"], limit=TIMELINE_REBUTTALS, **bounds
            )
        return rows_response(
            formats.timeline_document(narrative, span, window, interval, rows, rebuttals)
        )


@blp.route("/stats/coverage")
class Coverage(MethodView):
    @blp.requires("reader")
    @blp.arguments(CoverageQuery, location="query", as_kwargs=True)
    @blp.response(200, CoveragePage)
    def get(self, limit: int, sort: str, cursor: str | None = None, **filters: Any):
        """Per narrative and overall: sightings, rebuttals, whether and how fast it was
        rebutted, and sightings in the week before and after its first rebuttal.

        Archived narratives are left out. By default narratives never rebutted come first, most
        sighted first: what most needs an answer. Pages use keyset cursors over the sort key;
        since counts move while sightings arrive, a narrative whose count changes between two
        requests may move across a page boundary. `overall` covers every narrative the
        request covers, on every page."""
        after = _decode(sort, cursor) if cursor else None
        with db.connection() as conn:
            rows = repo.coverage_page(conn, sort=sort, limit=limit, after=after, **filters)
            overall = repo.coverage_overall(conn, **filters)
        return rows_response(formats.coverage_document(rows, overall, limit=limit, sort=sort))


def _decode(sort: str, cursor: str) -> tuple[int, int, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, k1, k2, id_ = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not (isinstance(name, str) and isinstance(id_, str)):
            _bad_cursor()
        if name != f"coverage:{sort}":
            _bad_cursor("The cursor belongs to another list or sort.")
        if not all(type(k) is int and -_BIGINT < k < _BIGINT for k in (k1, k2)):
            _bad_cursor()
        return k1, k2, uuid.UUID(id_)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        _bad_cursor()


def _bad_cursor(detail: str = "The cursor is malformed or expired.") -> NoReturn:
    abort(400, message=detail, errors={"cursor": [detail]}, kind="bad-cursor")
