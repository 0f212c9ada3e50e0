"""Rebuttals on the wire."""

import marshmallow as ma
from marshmallow import fields, validate

from service.schemas.common import (
    AllOptional,
    CountryCode,
    LanguageTag,
    NarrativeBrief,
    PageQuery,
    Ref,
    StrictSchema,
    Text,
    Timestamp,
    WebUrl,
    page_of,
)

ISSUER_KINDS = (
    "government",
    "intelligence",
    "parliament",
    "international_org",
    "fact_checker",
    "media",
    "other",
)
VERDICTS = ("false", "misleading", "unsupported", "disputed", "undermined")


class Issuer(StrictSchema):
    name = Text(200, required=True, metadata={"example": "Mykhailo Podolyak"})
    role = Text(200, allow_none=True, load_default=None)
    organization = Text(200, allow_none=True, load_default=None)
    country = CountryCode(allow_none=True, load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(ISSUER_KINDS))


class RebuttalIn(StrictSchema):
    """An official statement against one or more narratives."""

    narratives = fields.List(Ref(), required=True, validate=validate.Length(min=1, max=50))
    issuer = fields.Nested(Issuer, required=True)
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(VERDICTS),
        metadata={"description": "How the statement bears on the claim."},
    )
    statement = Text(
        20000, required=True, metadata={"description": "The words, or a faithful summary."}
    )
    url = WebUrl(required=True, metadata={"description": "Where it was published."})
    published_at = Timestamp(required=True)
    language = LanguageTag(required=True)


class RebuttalPatch(AllOptional, RebuttalIn):
    """Corrections: every field optional; `narratives` replaces the whole list."""


class RebuttalOut(ma.Schema):
    id = fields.UUID()
    narratives = fields.List(fields.Nested(NarrativeBrief))
    issuer = fields.Nested(Issuer)
    verdict = fields.String(validate=validate.OneOf(VERDICTS))
    statement = fields.String()
    url = fields.String()
    published_at = Timestamp()
    language = fields.String()
    reported_by = fields.String()
    updated_by = fields.String(
        allow_none=True, metadata={"description": "Key that last changed it."}
    )
    created_at = Timestamp()
    updated_at = Timestamp()


RebuttalPage = page_of(RebuttalOut, "RebuttalPage")


class NarrativeRebuttalQuery(PageQuery):
    verdict = fields.String(validate=validate.OneOf(VERDICTS))
    since = Timestamp(metadata={"description": "Published at or after this instant."})


class RebuttalQuery(NarrativeRebuttalQuery):
    narrative = Ref()
    issuer = Text(200, metadata={"description": "Issuer name, case-insensitive."})
    kind = fields.String(validate=validate.OneOf(ISSUER_KINDS))
    language = LanguageTag()
