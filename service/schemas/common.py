"""Fields and schemas shared by every resource: capped text, tags, timestamps, pages."""

import datetime as dt
import re
import unicodedata
import uuid
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from service.domain import url_limits, urls

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
MAX_REF = 100
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class FullMatch(validate.Validator):
    """A regular expression the whole value must match. (`validate.Regexp` uses re.match, and
    `$` also matches before a trailing newline, which PostgreSQL's CHECKs then refuse.)"""

    def __init__(self, pattern: str, error: str) -> None:
        self.regex = re.compile(pattern)
        self.error = error

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self.error)
        return value


class StrictSchema(ma.Schema):
    """Unknown fields are an error, not silently dropped: a typo must not lose data."""

    class Meta:
        unknown = ma.RAISE


class AllOptional:
    """Mixin for PATCH schemas: every field optional, none defaulted, so only what is sent
    changes; but something must be sent."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.required = False
        field_obj.load_default = ma.missing

    @ma.validates_schema
    def not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ma.ValidationError("Send at least one field to change.")


class Text(fields.String):
    """A string with a length cap, and nothing PostgreSQL's UTF-8 text cannot hold: no NUL
    characters, no lone surrogates (JSON's "\\ud800" decodes to one)."""

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
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ma.ValidationError("Must be valid Unicode (no lone surrogates).") from exc
        return text


class Slug(Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MAX_REF, **kwargs)
        self.validators.append(
            FullMatch(SLUG_PATTERN, error="Must be kebab-case: lowercase letters, digits, '-'.")
        )
        self.metadata.setdefault("pattern", SLUG_PATTERN)
        self.metadata.setdefault("example", "ukrainian-window")


def names_an_id(value: str) -> bool:
    """Whether a ref would be read as an id (anything uuid.UUID parses: 32 hex digits, with
    or without hyphens), so could never name a narrative by its slug."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class NarrativeSlug(Slug):
    """A narrative's slug: never shaped like an id, since `{ref}` reads such a value as one."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        slug = super()._deserialize(value, attr, data, **kwargs)
        if names_an_id(slug):
            raise ma.ValidationError("Must not look like an id (32 hex digits); add a word.")
        return slug


class Ref(Text):
    """A narrative reference on input: its id or its slug, or the `{id, slug, title}` object
    the API itself returns (so what was read can be written back)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault(
            "description",
            "A narrative's id (UUID) or slug; an {id, slug, title} object also "
            "works (its id is used).",
        )
        super().__init__(MAX_REF, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict):
            value = value.get("id") or value.get("slug")
        return super()._deserialize(value, attr, data, **kwargs)


class LanguageTag(Text):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("description", "BCP 47 language tag.")
        super().__init__(35, min_length=2, **kwargs)
        self.validators.append(FullMatch(LANGUAGE_PATTERN, error="Not a BCP 47 tag."))
        self.metadata.setdefault("pattern", LANGUAGE_PATTERN)
        self.metadata.setdefault("example", "ru")


class CountryCode(Text):
    """ISO 3166-1 alpha-2, stored upper case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("description", "ISO 3166-1 alpha-2 code.")
        super().__init__(2, min_length=2, **kwargs)
        self.validators.append(FullMatch(r"[A-Za-z]{2}", error="Not an ISO 3166-1 code."))
        self.metadata.setdefault("example", "RU")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"[A-Za-z]{2}", code):  # before upper(): "ß".upper() is "SS"
            raise ma.ValidationError("Not an ISO 3166-1 code.")
        return code.upper()


class WebUrl(Text):
    """An absolute http(s) URL, within service/domain/url_limits.py's limits (checked before it is
    normalised, so that no URL can cost much CPU)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("format", "uri")
        super().__init__(url_limits.MAX_URL, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs).strip()
        problem = url_limits.problem(url)
        if problem:
            raise ma.ValidationError(problem)
        if not urls.is_web_url(url):
            raise ma.ValidationError("Must be an absolute http or https URL.")
        try:
            normalized = urls.normalize(url)
        except (ValueError, UnicodeError) as exc:
            raise ma.ValidationError("Not a valid URL.") from exc
        # Percent-encoding can triple a non-ASCII URL; the identity index must still hold it.
        if len(normalized) > self.max_length:
            raise ma.ValidationError(
                f"Longer than {self.max_length} characters once percent-encoded."
            )
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
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            raise ma.ValidationError(
                "Not an RFC 3339 timestamp with an offset, e.g. 2024-03-26T12:00:00Z."
            )
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not 1900 <= moment.year <= 2200:
            raise ma.ValidationError("Must be between the years 1900 and 2200.")
        return moment


class StrictFloat(fields.Float):
    """A JSON number: strings ("0.5") and booleans are refused, not coerced."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ma.ValidationError("Not a number.")
        return super()._deserialize(value, attr, data, **kwargs)


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


class FormatQuery(StrictSchema):
    """`?format=claimreview` on a resource that also exists as a ClaimReview document."""

    format = fields.String(
        validate=validate.OneOf(("json", "claimreview")),
        metadata={
            "description": "`claimreview`: the schema.org ClaimReview JSON-LD document (as "
            "`Accept: application/ld+json` also asks); `json` (the default): the resource."
        },
    )


CLAIMREVIEW_ALSO = {
    200: {
        "content": {
            "application/ld+json": {"schema": {"$ref": "#/components/schemas/ClaimReviewDocument"}}
        }
    }
}


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


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as {"source.kind": [...], "aliases.0.text": [...]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            # marshmallow's "_schema" means "this object as a whole": name the object itself.
            if key == "_schema":
                name = prefix or "_body"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.setdefault(name, [])
            for field, errors in flatten(value, name).items():
                flat.setdefault(field, []).extend(errors)
            if not flat[name]:
                del flat[name]
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": list(messages)}
    return {prefix or "_body": [str(messages)]}
