"""Timelines and coverage as documents: rows in (service/repo/stats.py), the answer out. Pure,
so that every app that sends the same SQL (the benchmark's bare app and peer too) answers
the same bytes."""

import base64
import json
from typing import Any

from service.domain import stats as arithmetic
from service.schemas.sightings import SOURCE_KINDS


def timeline_document(
    narrative: dict[str, Any],
    span: dict[str, Any],
    window: Any,
    interval: str,
    rows: list[dict[str, Any]],
    rebuttals: list[dict[str, Any]],
) -> dict[str, Any]:
    """Every bucket with every source kind and every language of the range (zeros included),
    the rebuttals on the same axis, and the totals."""
    languages = sorted({language for row in rows for language in row["by_language"]})
    buckets = [
        {
            "start": row["start"],
            "sightings": row["sightings"],
            "by_source_kind": {kind: row["by_source_kind"].get(kind, 0) for kind in SOURCE_KINDS},
            "by_language": {lang: row["by_language"].get(lang, 0) for lang in languages},
        }
        for row in rows
    ]
    return {
        "narrative": {"id": narrative["id"], "slug": narrative["slug"], "title": span["title"]},
        "interval": interval,
        "from": window.start,
        "to": window.end,
        "buckets": buckets,
        "rebuttals": [
            {
                "id": r["id"],
                "published_at": r["published_at"],
                "bucket": arithmetic.bucket_start(r["published_at"], interval),
                "verdict": r["verdict"],
                "issuer": r["issuer"],
                "url": r["url"],
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


def coverage_document(
    rows: list[dict[str, Any]], overall: dict[str, Any], *, limit: int, sort: str
) -> dict[str, Any]:
    """A page of per-narrative figures (rows holds up to limit + 1) and the overall figures."""
    items = rows[:limit]
    median = overall["median_latency_seconds"]
    median = None if median is None else int(median)
    return {
        "items": [_coverage_item(row) for row in items],
        "next_cursor": coverage_cursor(sort, items[-1]) if len(rows) > limit else None,
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


def coverage_cursor(sort: str, row: dict[str, Any]) -> str:
    """The sort key of a page's last row, with the sort's name, base64url-encoded as the lists'
    cursors are (service/web/pagination.py)."""
    raw = json.dumps([f"coverage:{sort}", row["k1"], row["k2"], str(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


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


def _sum(buckets: list[dict[str, Any]], field: str, keys: Any) -> dict[str, int]:
    return {key: sum(bucket[field][key] for bucket in buckets) for key in keys}
