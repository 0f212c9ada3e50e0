"""Fields and schemas shared by every resource: capped text, tags, timestamps, pages."""

import datetime as dt
import re
import unicodedata
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from service import urls

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
MAX_REF = 100


class StrictSchema(ma.Schema):
    """Unknown fields are an error, not silently dropped: a typo must not lose data."""

    class Meta:
        unknown = ma.RAISE


class AllOptional:
    """Mixin for PATCH schemas: every field optional, none defaulted, so only what is sent changes."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.required = False
        field_obj.load_default = ma.missing


class Text(fields.String):
    """A string with a length cap and no NUL characters (PostgreSQL text cannot hold them)."""

    def __init__(self, max_length: int, *, min_length: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.validators.insert(0, validate.Length(min=min_length, max=max_length))
        self.metadata.setdefault("maxLength", max_length)
        if min_length:
            self.metadata.setdefault("minLength", min_length)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain NUL characters.")
        return text


class Slug(Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MAX_REF, **kwargs)
        self.validators.append(
            validate.Regexp(
                SLUG_PATTERN, error="Must be kebab-case: lowercase letters, digits, '-'."
            )
        )
        self.metadata.setdefault("pattern", SLUG_PATTERN)
        self.metadata.setdefault("example", "ukrainian-window")


class Ref(Text):
    """A narrative reference on input: its id or its slug."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "A narrative's id (UUID) or slug."
        )
        super().__init__(MAX_REF, **kwargs)


class LanguageTag(Text):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("description", "BCP 47 language tag.")
        super().__init__(35, min_length=2, **kwargs)
        self.validators.append(validate.Regexp(LANGUAGE_PATTERN, error="Not a BCP 47 tag."))
        self.metadata.setdefault("pattern", LANGUAGE_PATTERN)
        self.metadata.setdefault("example", "ru")


class CountryCode(Text):
    """ISO 3166-1 alpha-2, stored upper case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("description", "ISO 3166-1 alpha-2 code.")
        super().__init__(2, min_length=2, **kwargs)
        self.validators.append(validate.Regexp(r"^[A-Za-z]{2}$", error="Not an ISO 3166-1 code."))
        self.metadata.setdefault("example", "RU")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).upper()


class WebUrl(Text):
    """An absolute http(s) URL."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("format", "uri")
        super().__init__(2048, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs).strip()
        if not urls.is_web_url(url):
            raise ma.ValidationError("Must be an absolute http or https URL.")
        try:
            urls.normalize(url)
        except (ValueError, UnicodeError) as exc:
            raise ma.ValidationError("Not a valid URL.") from exc
        return url


class Timestamp(fields.AwareDateTime):
    """RFC 3339 with an explicit offset on input; always UTC with 'Z' on output."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)
        self.metadata.setdefault("example", "2024-03-26T12:00:00Z")

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        moment = value.astimezone(dt.UTC).isoformat()
        return moment.replace("+00:00", "Z")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not 1900 <= moment.year <= 2200:
            raise ma.ValidationError("Must be between the years 1900 and 2200.")
        return moment


def tag_list(max_items: int = 20) -> fields.List:
    return fields.List(
        Slug(metadata={"example": "crocus-city-hall-attack"}),
        validate=validate.Length(max=max_items),
        load_default=list,
        metadata={"description": f"Kebab-case labels, at most {max_items}."},
    )


def kebab(text: str) -> str:
    """A slug from free text: ASCII letters and digits joined by '-', or '' if none."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_REF].strip("-")


class PageQuery(StrictSchema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "Items per page, 1 to 200."},
    )
    cursor = Text(
        512,
        metadata={"description": "The `next_cursor` of the previous page; opaque."},
    )


class NarrativeBrief(ma.Schema):
    """How other resources show a narrative they point at."""

    id = fields.UUID()
    slug = fields.String()
    title = fields.String()


def page_of(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list envelope `{items, next_cursor}` around one item schema."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                allow_none=True,
                required=True,
                metadata={"description": "Pass as `cursor` for the next page; null at the end."},
            ),
        },
        name=name,
    )
