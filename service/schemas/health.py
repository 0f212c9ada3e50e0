"""Health probe bodies."""

import marshmallow as ma
from marshmallow import fields


class HealthOut(ma.Schema):
    status = fields.String(metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.String(), values=fields.String())
