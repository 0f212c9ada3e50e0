"""The peer's request models: pydantic v2 versions of the service's marshmallow rules for a posted
sighting (service/schemas/sightings.py SightingIn, with the fields of service/schemas/common.py),
so that the peer refuses what the service refuses and stores what the service stores.

URLs go through the service's own limits and normaliser (service.domain.url_limits, .urls), as
the bare app's do; the normalised form is kept on the value, so it is computed once.
tests/test_bench_peer.py holds the two rule sets equal on a corpus of edge cases.
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
)

from service.domain import url_limits, urls
from service.schemas.common import LANGUAGE_PATTERN, MAX_REF, RFC3339
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
