"""The audit trail on the wire."""

import marshmallow as ma
from marshmallow import fields, validate

from service.schemas.common import PageQuery, Text, Timestamp, page_of

RESOURCES = (
    "narrative",
    "narrative_aliases",
    "sighting",
    "rebuttal",
    "rebuttal_narratives",
    "key",
)
ACTIONS = ("create", "update", "delete")


class AuditEntry(ma.Schema):
    id = fields.Integer()
    at = Timestamp()
    key = fields.String(
        attribute="key_name",
        allow_none=True,
        metadata={"description": "The API key that made the write."},
    )
    action = fields.String(validate=validate.OneOf(ACTIONS))
    resource = fields.String(validate=validate.OneOf(RESOURCES))
    record_id = fields.UUID()
    before = fields.Raw(
        allow_none=True,
        metadata={"description": "The row before (null on create); for a list, its rows."},
    )
    after = fields.Raw(
        allow_none=True,
        metadata={"description": "The row after (null on delete); for a list, its rows."},
    )


AuditPage = page_of(AuditEntry, "AuditPage")


class AuditQuery(PageQuery):
    record = fields.UUID(metadata={"description": "Only entries about this record."})
    key = Text(64, metadata={"description": "Only writes by this key (its name)."})
    resource = fields.String(validate=validate.OneOf(RESOURCES))
    action = fields.String(validate=validate.OneOf(ACTIONS))
    since = Timestamp()
