"""The change feed on the wire."""

import marshmallow as ma
from marshmallow import fields, validate
from webargs.fields import DelimitedList

from service.repo.changes import RESOURCES, TYPES
from service.schemas.common import Ref, StrictSchema, Text, Timestamp


class ChangeQuery(StrictSchema):
    after = Text(
        512,
        metadata={
            "description": "The `next_cursor` of the previous page; omit it to start from the "
            "first change. A cursor belongs to the filters it was made with."
        },
    )
    types = DelimitedList(
        fields.String(validate=validate.OneOf(TYPES)),
        validate=validate.Length(min=1, max=len(TYPES)),
        metadata={"description": "Only these event types, comma-separated."},
    )
    narrative = Ref(
        metadata={
            "description": "Only changes to this narrative (id or slug) and to its sightings "
            "and rebuttals."
        }
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=500),
        metadata={"description": "Events per page, 1 to 500."},
    )


class ChangeEvent(ma.Schema):
    id = fields.String(metadata={"description": "Stable event id.", "example": "evt_1042"})
    type = fields.String(validate=validate.OneOf(TYPES), metadata={"example": "sighting.created"})
    occurred_at = Timestamp()
    resource_type = fields.String(validate=validate.OneOf(RESOURCES))
    resource_id = fields.UUID()
    resource = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The resource as its GET shows it now; null when it no longer "
            "exists (always null for a `*.deleted` event)."
        },
    )
    by = fields.String(allow_none=True, metadata={"description": "The API key that made it."})


class ChangePage(ma.Schema):
    items = fields.List(fields.Nested(ChangeEvent), required=True)
    next_cursor = fields.String(
        required=True,
        metadata={
            "description": "Never null: pass it as `after` to continue, now or later. An "
            "empty page means nothing new yet; poll again with the same cursor."
        },
    )
    has_more = fields.Boolean(
        required=True, metadata={"description": "Whether more events are ready right now."}
    )
