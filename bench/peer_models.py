"""The peer's request models: pydantic v2 versions of the service's marshmallow rules for a posted
sighting (service/schemas/sightings.py SightingIn, with the fields of service/schemas/common.py)
and for a text to match (service/schemas/match.py MatchIn), so that the peer refuses what the
service refuses and stores (or matches) what the service does.

URLs go through the service's own limits and normaliser (service.domain.url_limits, .urls), as
the bare app's do; the normalised form is kept on the value, so it is computed once.
tests/test_bench_peer_checks.py holds the two rule sets equal on a corpus of edge cases.
"""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationError,
    model_validator,
)

from service.domain import url_limits, urls
from service.repo.sightings import content_key
from service.schemas.common import LANGUAGE_PATTERN, MAX_REF, RFC3339
from service.schemas.match import MAX_LIMIT, MAX_TEXT_BYTES
from service.schemas.sightings import SOURCE_KINDS

_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def _storable(text: str) -> str:
    """What PostgreSQL's UTF-8 text can hold: no NUL, no lone surrogates (as `Text`)."""
    if "\x00" in text:
        raise ValueError("Must not contain NUL characters.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("Must be valid Unicode (no lone surrogates).") from exc
    return text


# Called like marshmallow's Text(200): a capped, storable string type.
def Text(max_length: int, min_length: int = 1) -> Any:
    return Annotated[
        str,
        Strict(),
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_storable),
    ]


class CheckedUrl(str):
    """A URL that passed the checks, with its identity form (`normalized`) computed once."""

    normalized: str


def _web_url(value: str) -> CheckedUrl:
    url = value.strip()
    problem = url_limits.problem(url)
    if problem:
        raise ValueError(problem)
    if not urls.is_web_url(url):
        raise ValueError("Must be an absolute http or https URL.")
    try:
        normalized = urls.normalize(url)
    except (ValueError, UnicodeError) as exc:
        raise ValueError("Not a valid URL.") from exc
    if len(normalized) > url_limits.MAX_URL:
        raise ValueError(f"Longer than {url_limits.MAX_URL} characters once percent-encoded.")
    checked = CheckedUrl(url)
    checked.normalized = normalized
    return checked


WebUrl = Annotated[Text(url_limits.MAX_URL), AfterValidator(_web_url)]


def _ref(value: Any) -> Any:
    """A narrative's id or slug, or the {id, slug, title} object the API returns (its id)."""
    if isinstance(value, dict):
        return value.get("id") or value.get("slug")
    return value


Ref = Annotated[Text(MAX_REF), BeforeValidator(_ref)]


def _language(value: str) -> str:
    if _LANGUAGE.fullmatch(value) is None:
        raise ValueError("Not a BCP 47 tag.")
    return value


LanguageTag = Annotated[Text(35, min_length=2), AfterValidator(_language)]


def _country(value: str) -> str:
    if _COUNTRY.fullmatch(value) is None:  # before upper(): "ß".upper() is "SS"
        raise ValueError("Not an ISO 3166-1 code.")
    return value.upper()


CountryCode = Annotated[Text(2, min_length=2), AfterValidator(_country)]


def _timestamp(value: Any) -> datetime:
    """RFC 3339 with an explicit offset, years 1900 to 2200 (as `Timestamp`)."""
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError("Not an RFC 3339 timestamp with an offset, e.g. 2024-03-26T12:00:00Z.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("Not a valid datetime.") from exc
    if not 1900 <= moment.year <= 2200:
        raise ValueError("Must be between the years 1900 and 2200.")
    return moment


Timestamp = Annotated[datetime, PlainValidator(_timestamp)]
Confidence = Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]


class _Strict(BaseModel):
    # Unknown fields are an error (StrictSchema); no coercion of "0.5" or 1 into text.
    model_config = ConfigDict(extra="forbid", strict=True)


class Source(_Strict):
    name: Text(200)
    kind: Literal[SOURCE_KINDS]  # type: ignore[valid-type]


class Actor(_Strict):
    name: Text(200)
    role: Text(200) | None = None


class ReportedIn(_Strict):
    url: WebUrl | None = None
    name: Text(200)


class SightingIn(_Strict):
    narrative: Ref
    observed_at: Timestamp
    url: WebUrl | None = None
    reported_in: ReportedIn | None = None
    source: Source
    actor: Actor | None = None
    quote: Text(10000) | None = None
    language: LanguageTag
    country: CountryCode | None = None
    external_id: Text(200) | None = None
    confidence: Confidence | None = None


def errors(exc: ValidationError) -> dict[str, list[str]]:
    """pydantic's errors as {"source.kind": [message]}, the shape of the service's results."""
    found: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "_body"
        found.setdefault(name, []).append(error["msg"])
    return found


def columns(item: SightingIn) -> dict[str, Any]:
    """A valid sighting as the INSERT's columns (the narrative still a reference)."""
    actor, reported_in = item.actor, item.reported_in
    row = {
        "narrative": item.narrative,
        "observed_at": item.observed_at,
        "url": item.url,
        "url_normalized": item.url.normalized if item.url else None,
        "source_name": item.source.name,
        "source_kind": item.source.kind,
        "actor_name": actor.name if actor else None,
        "actor_role": actor.role if actor else None,
        "quote": item.quote,
        "language": item.language,
        "country": item.country,
        "external_id": item.external_id,
        "confidence": item.confidence,
        "reported_in_url": reported_in.url if reported_in else None,
        "reported_in_name": reported_in.name if reported_in else None,
    }
    row["content_key"] = content_key(row)
    return row


def _utf8_bytes(text: str) -> str:
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ValueError(f"Longer than {MAX_TEXT_BYTES} bytes of UTF-8.")
    return text


MatchText = Annotated[Text(MAX_TEXT_BYTES, min_length=0), AfterValidator(_utf8_bytes)]


class MatchIn(_Strict):
    """A text, a link, or both. `text` and `url` default to nothing but may not be null; any
    string up to 100 characters is a language tag (one the matcher cannot use means neutral)."""

    text: MatchText = ""
    url: WebUrl = Field(default=None)
    language: Annotated[str, StringConstraints(max_length=100)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 5

    @model_validator(mode="after")
    def something_to_match(self) -> "MatchIn":
        if not self.text.strip() and not self.url:
            raise ValueError("Send a non-empty text, a url, or both.")
        return self
