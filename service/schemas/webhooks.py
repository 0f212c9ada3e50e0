"""Webhook subscriptions and their delivery log on the wire."""

import marshmallow as ma
from marshmallow import fields, validate

from service.domain.targets import MAX_URL
from service.schemas.common import (
    AllOptional,
    NarrativeBrief,
    PageQuery,
    Ref,
    StrictSchema,
    Text,
    Timestamp,
    page_of,
)

EVENT_TYPES = (
    "sighting.created",
    "rebuttal.created",
    "narrative.updated",
    "narrative.resighted_after_rebuttal",
)


class WebhookIn(StrictSchema):
    url = Text(
        MAX_URL,
        required=True,
        metadata={
            "format": "uri",
            "description": "Where to POST events: http(s), resolving to public addresses only.",
        },
    )
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": "The events to send."},
    )
    narrative = Ref(
        allow_none=True,
        load_default=None,
        metadata={"description": "Only events about this narrative (id or slug)."},
    )
    enabled = fields.Boolean(load_default=True)

    @ma.post_load
    def unique_types(self, data, **_):
        if "event_types" in data:
            data["event_types"] = list(dict.fromkeys(data["event_types"]))
        return data


class WebhookPatch(AllOptional, WebhookIn):
    pass


class WebhookOut(ma.Schema):
    id = fields.UUID()
    url = fields.String()
    event_types = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)))
    narrative = fields.Nested(NarrativeBrief, allow_none=True)
    enabled = fields.Boolean()
    disabled_reason = fields.String(
        allow_none=True, metadata={"description": "Why the service switched it off."}
    )
    consecutive_failures = fields.Integer()
    failing_since = Timestamp(allow_none=True)
    previous_secret_expires_at = Timestamp(
        allow_none=True,
        metadata={"description": "Until then deliveries are also signed with the old secret."},
    )
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


class WebhookCreated(WebhookOut):
    secret = fields.String(
        metadata={
            "description": "The signing secret (`whsec_…`), shown this once.",
            "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }
    )


class WebhookList(ma.Schema):
    items = fields.List(fields.Nested(WebhookOut), required=True)


class RotateIn(StrictSchema):
    overlap_hours = fields.Integer(
        load_default=24,
        validate=validate.Range(min=0, max=168),
        metadata={"description": "How long the old secret keeps signing beside the new one."},
    )


class Rotated(ma.Schema):
    secret = fields.String(metadata={"description": "The new secret, shown this once."})
    previous_secret_expires_at = Timestamp()


class Delivery(ma.Schema):
    id = fields.UUID(metadata={"description": "This attempt; redeliver by it."})
    message_id = fields.String(
        metadata={"description": "The `webhook-id` sent: the same on every attempt."}
    )
    event_type = fields.String(validate=validate.OneOf(EVENT_TYPES))
    record_id = fields.UUID()
    attempted_at = Timestamp()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)
    outcome = fields.String(validate=validate.OneOf(("delivered", "retry", "failed")))


DeliveryPage = page_of(Delivery, "DeliveryPage")


class DeliveryQuery(PageQuery):
    pass


class Redelivered(ma.Schema):
    message_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    next_attempt_at = Timestamp()
