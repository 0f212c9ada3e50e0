"""How narratives spread and whether rebuttals keep up: a narrative's timeline, and coverage
statistics over every narrative. Both are computed in SQL (service/repo/stats.py)."""

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
from service.repo import stats as repo
from service.schemas.sightings import SOURCE_KINDS
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
            span = repo.span(conn, narrative["id"])
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
            rows = repo.buckets(conn, narrative["id"], unit=interval, **bounds)
            rebuttals = repo.rebuttals_between(
                conn, narrative["id"], limit=TIMELINE_REBUTTALS, **bounds
            )
        languages = sorted({language for row in rows for language in row["by_language"]})
        buckets = [
            {
                "start": row["start"],
                "sightings": row["sightings"],
                "by_source_kind": {
                    kind: row["by_source_kind"].get(kind, 0) for kind in SOURCE_KINDS
                },
                "by_language": {lang: row["by_language"].get(lang, 0) for lang in languages},
            }
            for row in rows
        ]
        for rebuttal in rebuttals:
            rebuttal["bucket"] = arithmetic.bucket_start(rebuttal["published_at"], interval)
        document = {
            "narrative": {"id": narrative["id"], "slug": narrative["slug"], "title": span["title"]},
            "interval": interval,
            "from": window.start,
            "to": window.end,
            "buckets": buckets,
            "rebuttals": [
                {
                    key: r[key]
                    for key in ("id", "published_at", "bucket", "verdict", "issuer", "url")
                }
                for r in rebuttals
            ],
            "totals": {
                "sightings": sum(b["sightings"] for b in buckets),
                "by_source_kind": _sum(buckets, "by_source_kind", SOURCE_KINDS),
                "by_language": _sum(buckets, "by_language", languages),
                "rebuttals": rebuttals[0]["in_range"] if rebuttals else 0,
            },
        }
        return rows_response(document)


def _sum(buckets: list[dict[str, Any]], field: str, keys: Any) -> dict[str, int]:
    return {key: sum(bucket[field][key] for bucket in buckets) for key in keys}


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
        items = rows[:limit]
        next_cursor = _encode(sort, items[-1]) if len(rows) > limit else None
        median = overall["median_latency_seconds"]
        median = None if median is None else int(median)
        return rows_response(
            {
                "items": [_coverage_item(row) for row in items],
                "next_cursor": next_cursor,
                "sort": sort,
                "overall": {
                    "narratives": overall["narratives"],
                    "rebutted": overall["rebutted"],
                    "unrebutted": overall["narratives"] - overall["rebutted"],
                    "sightings": overall["sightings"],
                    "sightings_unrebutted": overall["sightings_unrebutted"],
                    "rebuttals": overall["rebuttals"],
                    "median_latency_seconds": median,
                    "median_latency": arithmetic.iso_duration(median),
                    "sightings_7d_before": overall["before_7d"] or 0,
                    "sightings_7d_after": overall["after_7d"] or 0,
                },
            }
        )


def _coverage_item(row: dict[str, Any]) -> dict[str, Any]:
    rebutted = row["first_rebuttal_at"] is not None
    return {
        "narrative": {"id": row["id"], "slug": row["slug"], "title": row["title"]},
        "sightings": row["sightings"],
        "rebuttals": row["rebuttals"],
        "rebutted": rebutted,
        "first_sighting_at": row["first_seen_at"],
        "first_rebuttal_at": row["first_rebuttal_at"],
        "latency_seconds": row["latency_seconds"],
        "latency": arithmetic.iso_duration(row["latency_seconds"]),
        "sightings_7d_before": row["before_7d"] if rebutted else None,
        "sightings_7d_after": row["after_7d"] if rebutted else None,
    }


# Cursors: the sort key of a page's last row, with the name of the sort, base64url-encoded as
# service/web/pagination.py does for the lists (whose keys are a timestamp and an id).
def _encode(sort: str, row: dict[str, Any]) -> str:
    raw = json.dumps([f"coverage:{sort}", row["k1"], row["k2"], str(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


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
