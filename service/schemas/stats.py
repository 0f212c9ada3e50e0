"""Timelines and coverage statistics on the wire."""

import marshmallow as ma
from marshmallow import fields, validate

from service.schemas.common import NarrativeBrief, PageQuery, Slug, StrictSchema, Timestamp
from service.schemas.rebuttals import VERDICTS, Issuer
from service.schemas.sightings import SOURCE_KINDS

INTERVALS = ("hour", "day", "week")
MAX_BUCKETS = 2000
COVERAGE_SORTS = ("unrebutted_first", "sightings", "latency")


class TimelineQuery(StrictSchema):
    interval = fields.String(
        load_default="day",
        validate=validate.OneOf(INTERVALS),
        metadata={"description": "Bucket width; weeks start on Monday 00:00 UTC."},
    )
    from_ = Timestamp(
        data_key="from",
        metadata={
            "description": "Start of the range, widened to the start of its bucket. Default: "
            "the first sighting (30 days before `to` when there is none)."
        },
    )
    to = Timestamp(
        metadata={
            "description": "End of the range, widened to the end of its bucket. Default: the "
            "last sighting when `from` is not given either (else, or when there is none, now)."
        }
    )


def _counts(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": description}
    )


class Bucket(ma.Schema):
    start = Timestamp(metadata={"description": "The bucket's first instant (UTC)."})
    sightings = fields.Integer()
    by_source_kind = _counts(f"Sightings by source kind: every kind ({', '.join(SOURCE_KINDS)}).")
    by_language = _counts(
        "Sightings by language (lower-cased tag): every language seen in the range."
    )


class TimelineRebuttal(ma.Schema):
    id = fields.UUID()
    published_at = Timestamp()
    bucket = Timestamp(metadata={"description": "The start of the bucket it falls in."})
    verdict = fields.String(validate=validate.OneOf(VERDICTS))
    issuer = fields.Nested(Issuer)
    url = fields.String()


class TimelineTotals(ma.Schema):
    sightings = fields.Integer()
    by_source_kind = _counts("Sightings in the range by source kind.")
    by_language = _counts("Sightings in the range by language.")
    rebuttals = fields.Integer(
        metadata={
            "description": "Rebuttals published in the range (all of them, even past the "
            "first 1,000 listed)."
        }
    )


class Timeline(ma.Schema):
    narrative = fields.Nested(NarrativeBrief)
    interval = fields.String(validate=validate.OneOf(INTERVALS))
    from_ = Timestamp(data_key="from", metadata={"description": "The first bucket's start."})
    to = Timestamp(metadata={"description": "The last bucket's end (exclusive)."})
    buckets = fields.List(fields.Nested(Bucket))
    rebuttals = fields.List(
        fields.Nested(TimelineRebuttal),
        metadata={"description": "Rebuttals published in the range, oldest first (at most 1,000)."},
    )
    totals = fields.Nested(TimelineTotals)


class CoverageQuery(PageQuery):
    since = Timestamp(
        metadata={
            "description": "Count only sightings observed and rebuttals published at or after "
            "this instant. Whether a narrative is rebutted, its first rebuttal, the latency and "
            "the 7-day windows stay those of the narrative's whole history."
        }
    )
    tag = Slug(metadata={"description": "Only narratives carrying this tag."})
    sort = fields.String(
        load_default="unrebutted_first",
        validate=validate.OneOf(COVERAGE_SORTS),
        metadata={
            "description": "`unrebutted_first`: narratives never rebutted first, each group most "
            "sighted first. `sightings`: most sighted first. `latency`: slowest first rebuttal "
            "first, then narratives without a latency. Ties by id."
        },
    )


class NarrativeCoverage(ma.Schema):
    narrative = fields.Nested(NarrativeBrief)
    sightings = fields.Integer(metadata={"description": "False positives excluded."})
    rebuttals = fields.Integer()
    rebutted = fields.Boolean(metadata={"description": "Whether it has ever been rebutted."})
    first_sighting_at = Timestamp(
        allow_none=True, metadata={"description": "Null when it has no sightings."}
    )
    first_rebuttal_at = Timestamp(allow_none=True)
    latency_seconds = fields.Integer(
        allow_none=True,
        metadata={
            "description": "Whole seconds from the first sighting to the first rebuttal; "
            "negative when the rebuttal came first (a prebunk); null if either is missing."
        },
    )
    latency = fields.String(
        allow_none=True,
        metadata={
            "description": "The same as an ISO 8601 duration (PnDTnHnMnS; a leading '-' when "
            "negative).",
            "example": "P2DT3H0M0S",
        },
    )
    sightings_7d_before = fields.Integer(
        allow_none=True,
        metadata={"description": "Sightings in the 7 days (168 h) before the first rebuttal."},
    )
    sightings_7d_after = fields.Integer(
        allow_none=True,
        metadata={
            "description": "Sightings in the 7 days from the first rebuttal on (still filling "
            "while the rebuttal is less than a week old)."
        },
    )


class CoverageOverall(ma.Schema):
    narratives = fields.Integer()
    rebutted = fields.Integer(metadata={"description": "Narratives ever rebutted."})
    unrebutted = fields.Integer()
    sightings = fields.Integer()
    sightings_unrebutted = fields.Integer(
        metadata={"description": "Sightings of narratives never rebutted."}
    )
    rebuttals = fields.Integer(metadata={"description": "Distinct rebuttals of these narratives."})
    median_latency_seconds = fields.Integer(allow_none=True)
    median_latency = fields.String(allow_none=True)
    sightings_7d_before = fields.Integer(
        metadata={"description": "Summed over rebutted narratives."}
    )
    sightings_7d_after = fields.Integer()


class CoveragePage(ma.Schema):
    items = fields.List(fields.Nested(NarrativeCoverage), required=True)
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end."},
    )
    sort = fields.String(validate=validate.OneOf(COVERAGE_SORTS))
    overall = fields.Nested(
        CoverageOverall,
        metadata={"description": "Every narrative the request covers, not just this page."},
    )
