"""Sightings on the wire."""

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from service.schemas.common import (
    AllOptional,
    CountryCode,
    LanguageTag,
    NarrativeBrief,
    PageQuery,
    Ref,
    StrictFloat,
    StrictSchema,
    Text,
    Timestamp,
    WebUrl,
    page_of,
)

SOURCE_KINDS = ("outlet", "channel", "account", "official", "other")
STATUSES = ("unreviewed", "confirmed", "false_positive")


class Source(StrictSchema):
    name = Text(200, required=True, metadata={"example": "SHOT"})
    kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))


class Actor(StrictSchema):
    name = Text(200, required=True, metadata={"example": "Nikolai Patrushev"})
    role = Text(
        200,
        allow_none=True,
        load_default=None,
        metadata={"example": "Secretary of the Security Council of Russia"},
    )


class ReportedIn(StrictSchema):
    """Where a sighting was reported when it was not published where a reader can open it: a
    statement heard in a video or a speech, or carried second-hand. Not part of its identity."""

    url = WebUrl(
        allow_none=True,
        load_default=None,
        metadata={
            "example": "https://www.dw.com/en/russian-intel-heads-allege-western-support-for-"
            "moscow-attack/a-68671023",
            "description": "The article or page that reported it.",
        },
    )
    name = Text(
        200,
        required=True,
        metadata={"example": "DW (Deutsche Welle)", "description": "Who published that report."},
    )


class SightingIn(StrictSchema):
    """One observed instance of a narrative being pushed."""

    narrative = Ref(required=True)
    observed_at = Timestamp(
        required=True, metadata={"description": "When it was said or published."}
    )
    url = WebUrl(
        allow_none=True,
        load_default=None,
        metadata={"description": "Where it was said or published (the primary source)."},
    )
    reported_in = fields.Nested(
        ReportedIn,
        allow_none=True,
        load_default=None,
        metadata={"description": "Where it was reported, when that is not `url`."},
    )
    source = fields.Nested(Source, required=True)
    actor = fields.Nested(Actor, allow_none=True, load_default=None)
    quote = Text(
        10000,
        allow_none=True,
        load_default=None,
        metadata={"description": "The words, in the original language."},
    )
    language = LanguageTag(required=True)
    country = CountryCode(allow_none=True, load_default=None)
    external_id = Text(
        200,
        allow_none=True,
        load_default=None,
        metadata={"description": "The monitor's own id; unique per API key."},
    )
    confidence = StrictFloat(
        allow_none=True, load_default=None, allow_nan=False, validate=validate.Range(min=0, max=1)
    )


class SightingPatch(AllOptional, SightingIn):
    """Review and corrections: every field optional; only those present change."""

    status = fields.String(validate=validate.OneOf(STATUSES))


class SightingOut(ma.Schema):
    id = fields.UUID()
    narrative = fields.Nested(NarrativeBrief)
    observed_at = Timestamp()
    url = fields.String(allow_none=True)
    url_normalized = fields.String(
        allow_none=True,
        metadata={
            "description": "The identity form of `url`: tracking parameters and fragment removed."
        },
    )
    reported_in = fields.Nested(ReportedIn, allow_none=True)
    source = fields.Nested(Source)
    actor = fields.Nested(Actor, allow_none=True)
    quote = fields.String(allow_none=True)
    language = fields.String()
    country = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    confidence = StrictFloat(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    reported_by = fields.String(metadata={"description": "The API key that posted it."})
    updated_by = fields.String(
        allow_none=True, metadata={"description": "Key that last changed it."}
    )
    created_at = Timestamp()
    updated_at = Timestamp()


class SightingCreated(SightingOut):
    duplicate = fields.Boolean(
        metadata={"description": "True when the sighting already existed; nothing new was stored."}
    )


SightingPage = page_of(SightingOut, "SightingPage")

MAX_BATCH = 1000


class SightingBatchIn(StrictSchema):
    """Many sightings in one request; each item is validated and stored on its own merits."""

    sightings = fields.List(
        fields.Nested(SightingIn),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
        metadata={"description": f"1 to {MAX_BATCH} sightings (more is a 413)."},
    )


class SightingPost(ma.Schema):
    """POST /v1/sightings's body as the parser reads it: one sighting, or `{"sightings": [...]}`.

    Only the shape is checked here (an object; for a batch, a list). Each sighting is then
    validated on its own (SightingIn) by service.domain.ingest, so that one bad item is
    reported in its place and never sinks the rest of a batch."""

    class Meta:
        unknown = ma.INCLUDE

    @ma.validates_schema(pass_original=True)
    def an_object(self, _data: Any, original: Any, **_: Any) -> None:
        if not isinstance(original, dict):
            raise ma.ValidationError('Send one sighting (an object) or {"sightings": [...]}.')
        if "sightings" in original:
            unknown = sorted(set(original) - {"sightings"})
            if unknown:
                raise ma.ValidationError({name: ["Unknown field."] for name in unknown})
            if not isinstance(original["sightings"], list):
                raise ma.ValidationError({"sightings": ["Must be a list of sightings."]})
            if not original["sightings"]:
                raise ma.ValidationError({"sightings": ["Must hold at least one sighting."]})

    @ma.post_load(pass_original=True)
    def as_sent(self, _data: Any, original: Any, **_: Any) -> dict[str, Any]:
        return original


class ItemResult(ma.Schema):
    index = fields.Integer(metadata={"description": "Position of the item in the request."})
    status = fields.String(validate=validate.OneOf(("created", "duplicate", "invalid")))
    id = fields.UUID(metadata={"description": "The new sighting, or the one it duplicates."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Why an invalid item was refused, by field."},
    )


class SightingBatchOut(ma.Schema):
    results = fields.List(
        fields.Nested(ItemResult), metadata={"description": "One per item, in order."}
    )
    created = fields.Integer()
    duplicates = fields.Integer()
    invalid = fields.Integer()


class NarrativeSightingQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    since = Timestamp(metadata={"description": "Observed at or after this instant."})
    until = Timestamp(metadata={"description": "Observed before this instant."})


class SightingQuery(NarrativeSightingQuery):
    narrative = Ref()
    source = Text(200, metadata={"description": "Source name, case-insensitive."})
    actor = Text(200, metadata={"description": "Actor name, case-insensitive."})
    language = LanguageTag()
    country = CountryCode()
    url = WebUrl(metadata={"description": "Matches the normalised URL."})


# POST /v1/sightings takes either shape; documented by hand because it is parsed by hand (each
# batch item is validated on its own, so one bad item cannot refuse the others).
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/SightingIn"},
                    {"$ref": "#/components/schemas/SightingBatchIn"},
                ]
            }
        }
    },
}

# 200 from POST /v1/sightings is either answer, by request shape.
OK_RESPONSE = {
    "description": "One sighting already recorded (the stored one, `duplicate: true`), or a "
    "batch whose every item was accepted (created or duplicate).",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/SightingCreated"},
                    {"$ref": "#/components/schemas/SightingBatchOut"},
                ]
            }
        }
    },
}
