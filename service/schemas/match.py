"""Matching on the wire: a text or a link in, the narratives it carries out."""

# ruff: noqa: RUF001 (Cyrillic letters and apostrophes are data here)

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from service.schemas.common import NarrativeBrief, StrictSchema, Text, WebUrl
from service.schemas.rebuttals import RebuttalOut

MAX_TEXT_BYTES = 100 * 1024
MAX_LIMIT = 20
EVIDENCE_KINDS = ("alias", "keyword", "title", "summary", "quote", "url")


class MatchText(Text):
    """Free text, capped in bytes of UTF-8 (what the database and the analyser handle)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MAX_TEXT_BYTES, min_length=0, **kwargs)
        self.metadata["description"] = (
            f"The text to match: an article, a post, a quote. At most {MAX_TEXT_BYTES} bytes "
            "of UTF-8."
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise ma.ValidationError(f"Longer than {MAX_TEXT_BYTES} bytes of UTF-8.")
        return text


class StrictInteger(fields.Integer):
    """A JSON integer: strings ("5") and booleans are refused, not coerced."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ma.ValidationError("Not an integer.")
        return super()._deserialize(value, attr, data, **kwargs)


def _limit(kind: type[fields.Integer] = fields.Integer) -> fields.Integer:
    return kind(
        load_default=5,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"How many narratives at most, 1 to {MAX_LIMIT}."},
    )


class MatchIn(StrictSchema):
    """A text, a link, or both."""

    text = MatchText(metadata={"example": "СК нашёл украинский след в теракте в «Крокусе»."})
    url = WebUrl(
        metadata={"description": "Where the text was seen; a sighting at this URL is a match."}
    )
    language = fields.String(
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={
            "description": "BCP 47 tag of the text (en, ru, uk are analysed in their language); "
            "detected when absent; any other or malformed tag means language-neutral matching.",
            "example": "ru",
        },
    )
    limit = _limit(StrictInteger)

    @ma.validates_schema
    def something_to_match(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("text") or "").strip() and not data.get("url"):
            raise ma.ValidationError("Send a non-empty text, a url, or both.", "text")


class MatchUrlQuery(StrictSchema):
    url = WebUrl(required=True, metadata={"description": "The link to look up."})
    limit = _limit()


class Evidence(ma.Schema):
    kind = fields.String(
        validate=validate.OneOf(EVIDENCE_KINDS),
        metadata={"description": "Which of the narrative's phrasings hit, or `url`."},
    )
    text = fields.String(metadata={"description": "The phrasing, or the sighting's URL."})
    language = fields.String()
    sighting_id = fields.UUID(metadata={"description": "For `quote` and `url`: the sighting."})


class MatchOut(ma.Schema):
    narrative = fields.Nested(NarrativeBrief)
    score = fields.Float(
        metadata={"description": "0..1; 0.5 and above means the text probably carries it."}
    )
    evidence = fields.List(fields.Nested(Evidence))
    rebuttals = fields.List(
        fields.Nested(RebuttalOut), metadata={"description": "The latest rebuttals, newest first."}
    )


class MatchResult(ma.Schema):
    matches = fields.List(fields.Nested(MatchOut), required=True)
    language = fields.String(
        required=True,
        metadata={"description": "The language the text was analysed in: en, ru, uk or und."},
    )
