"""API keys and the caller on the wire."""

import marshmallow as ma
from marshmallow import fields, validate

from service.domain.roles import ROLES
from service.schemas.common import FullMatch, StrictSchema, Text, Timestamp

KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class KeyIn(StrictSchema):
    name = Text(
        64,
        required=True,
        validate=FullMatch(
            KEY_NAME_PATTERN, "1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit."
        ),
        metadata={
            "description": "Unique, never reused: it is the provenance on every record the key "
            "writes.",
            "example": "telegram-monitor-1",
        },
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class KeyOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    prefix = fields.String(metadata={"description": "The key's first characters, to recognise it."})
    created_by = fields.String(allow_none=True)
    created_at = Timestamp()
    last_used_at = Timestamp(
        allow_none=True,
        metadata={"description": "Last authenticated request (updated at most every few seconds)."},
    )
    revoked_at = Timestamp(allow_none=True)


class KeyCreated(KeyOut):
    key = fields.String(
        metadata={"description": "The secret. Shown only in this response: store it now."}
    )


class KeyList(ma.Schema):
    items = fields.List(fields.Nested(KeyOut))


class Me(ma.Schema):
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
