"""Narratives on the wire."""

import marshmallow as ma
from marshmallow import fields, validate

from service.schemas.common import (
    AllOptional,
    LanguageTag,
    NarrativeBrief,
    NarrativeSlug,
    PageQuery,
    Ref,
    Slug,
    StrictSchema,
    Text,
    Timestamp,
    page_of,
    tag_list,
)

STATUSES = ("active", "dormant", "archived")


class Alias(StrictSchema):
    text = Text(300, required=True, metadata={"example": "украинский след"})
    language = LanguageTag(required=True)


class NarrativeIn(StrictSchema):
    """A new narrative."""

    slug = NarrativeSlug(
        metadata={
            "description": "Unique kebab-case name, never shaped like an id; derived from "
            "the title if omitted."
        }
    )
    title = Text(200, required=True, metadata={"example": "Ukrainian window"})
    summary = Text(
        5000,
        min_length=0,
        load_default="",
        metadata={"description": "What the narrative claims, neutrally worded."},
    )
    aliases = fields.List(
        fields.Nested(Alias),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Names and phrasings in other languages."},
    )
    keywords = fields.List(
        Text(100),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "Extra match terms."},
    )
    tags = tag_list()
    parent = Ref(
        allow_none=True,
        load_default=None,
        metadata={"description": "Id or slug of the broader narrative, or null."},
    )
    status = fields.String(load_default="active", validate=validate.OneOf(STATUSES))


class NarrativePatch(AllOptional, NarrativeIn):
    """Every field optional; only those present change. `aliases` replaces the whole list."""


class NarrativeOut(ma.Schema):
    id = fields.UUID()
    slug = fields.String()
    title = fields.String()
    summary = fields.String()
    aliases = fields.List(fields.Nested(Alias))
    keywords = fields.List(fields.String())
    tags = fields.List(fields.String())
    parent = fields.Nested(NarrativeBrief, allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    first_seen_at = Timestamp(
        allow_none=True, metadata={"description": "Earliest sighting, false positives excluded."}
    )
    last_seen_at = Timestamp(allow_none=True)
    sighting_count = fields.Integer(
        metadata={"description": "Sightings, false positives excluded."}
    )
    rebuttal_count = fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()
    reported_by = fields.String(allow_none=True, metadata={"description": "Key that created it."})
    updated_by = fields.String(
        allow_none=True, metadata={"description": "Key that last changed it."}
    )


NarrativePage = page_of(NarrativeOut, "NarrativePage")


class NarrativeQuery(PageQuery):
    q = Text(
        200, metadata={"description": "Words in the title, slug, summary, aliases or keywords."}
    )
    tag = Slug(metadata={"description": "Only narratives carrying this tag."})
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Only this status; by default everything but `archived`."},
    )
    updated_since = Timestamp(metadata={"description": "Changed at or after this instant."})
