"""Bulk import of sightings (NDJSON) on the wire."""

from marshmallow import Schema, fields

from service.domain.imports import MAX_LINE_BYTES, MAX_LINES, MAX_REPORTED

NDJSON = "application/x-ndjson"


class InvalidLine(Schema):
    line = fields.Integer(metadata={"description": "Its line number in the file, from 1."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Why it was refused, by field (`_line`: the line as a whole)."},
    )


class ImportOut(Schema):
    lines = fields.Integer(metadata={"description": "Lines read (blank lines are skipped)."})
    created = fields.Integer(metadata={"description": "Sightings stored."})
    duplicates = fields.Integer(
        metadata={
            "description": "Valid lines that were already stored, or that repeat an earlier "
            "line of the file (same identity): nothing new was stored for them."
        }
    )
    invalid = fields.Integer(metadata={"description": "Lines refused."})
    invalid_lines = fields.List(
        fields.Nested(InvalidLine),
        metadata={"description": f"The first {MAX_REPORTED} refused lines, in file order."},
    )
    invalid_lines_truncated = fields.Boolean(
        metadata={"description": f"True when more than {MAX_REPORTED} lines were refused."}
    )


REQUEST_BODY = {
    "required": True,
    "description": f"One sighting (a SightingIn object) per line, up to {MAX_LINES:,} lines of "
    f"at most {MAX_LINE_BYTES:,} bytes each, UTF-8, separated by newlines.",
    "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/SightingIn"}}},
}
