"""SightingIn's rules as plain Python checks, for the paths that validate sightings by the
thousand (a batch of 500, an NDJSON import of a million lines).

SightingIn (marshmallow) is the rule. Loading a schema costs about a hundred microseconds a
sighting, most of a batch's time in Python; these checks cost a fifth of that. They accept only
what SightingIn accepts, with the same values, and only in the common shapes: whatever they
cannot vouch for (an invalid sighting, a narrative given as an object) returns None, and the caller loads it with SightingIn, for the verdict and its
messages. tests/test_import_lines.py holds the two equal over valid and invalid sightings.
"""

import datetime as dt
import re
from typing import Any

from service.domain import url_limits, urls
from service.repo import sightings as sightings_repo
from service.schemas.common import LANGUAGE_PATTERN, MAX_REF, RFC3339
from service.schemas.sightings import SOURCE_KINDS, SightingIn

# What `values` returns, in this order: the stored columns (service/repo/sightings.py), with the
# narrative as given rather than its id, and no review status (an import's staging columns,
# less its content key).
NAMES = (
    "narrative_ref",
    *(c for c in sightings_repo.COLUMNS if c not in ("narrative_id", "status")),
)

FIELDS = frozenset(SightingIn().fields)
_KINDS = frozenset(SOURCE_KINDS)
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_PAIR_KEYS = {
    "source": frozenset({"name", "kind"}),
    "actor": frozenset({"name", "role"}),
    "reported_in": frozenset({"url", "name"}),
}


def values(value: Any) -> tuple[Any, ...] | None:
    """A sighting's values (NAMES) if plain checks show it is valid in a common shape; None
    when they cannot tell."""
    if type(value) is not dict or not FIELDS.issuperset(value):
        return None
    get = value.get
    narrative = get("narrative")
    if not _text(narrative, MAX_REF):
        return None
    observed_at = _moment(get("observed_at"))
    if observed_at is None:
        return None
    url = get("url")
    normalized = None
    if url is not None:
        url, normalized = _web_url(url)
        if url is None:
            return None
    source = get("source")
    if not _pair(source, "source") or not _text(source.get("name"), 200):
        return None
    kind = source.get("kind")
    if type(kind) is not str or kind not in _KINDS:
        return None
    actor = get("actor")
    actor_name = actor_role = None
    if actor is not None:
        if not _pair(actor, "actor"):
            return None
        actor_name, actor_role = actor.get("name"), actor.get("role")
        if not _text(actor_name, 200) or (actor_role is not None and not _text(actor_role, 200)):
            return None
    reported_in = get("reported_in")
    reported_url = reported_name = None
    if reported_in is not None:
        if not _pair(reported_in, "reported_in"):
            return None
        reported_url, reported_name = reported_in.get("url"), reported_in.get("name")
        if not _text(reported_name, 200):
            return None
        if reported_url is not None:
            reported_url = _web_url(reported_url)[0]
            if reported_url is None:
                return None
    quote = get("quote")
    if quote is not None and not _text(quote, 10000):
        return None
    language = get("language")
    if not _text(language, 35, 2) or _LANGUAGE.fullmatch(language) is None:
        return None
    country = get("country")
    if country is not None:
        if not _text(country, 2, 2) or _COUNTRY.fullmatch(country) is None:
            return None
        country = country.upper()
    external_id = get("external_id")
    if external_id is not None and not _text(external_id, 200):
        return None
    confidence = get("confidence")
    if confidence is not None:
        if type(confidence) not in (int, float) or not 0 <= confidence <= 1:
            return None  # also NaN, which compares false
        confidence = float(confidence)
    return (
        narrative,
        observed_at,
        url,
        normalized,
        source["name"],
        kind,
        actor_name,
        actor_role,
        quote,
        language,
        country,
        external_id,
        confidence,
        reported_url,
        reported_name,
    )


def as_loaded(checked: tuple[Any, ...]) -> dict[str, Any]:
    """`values`' result in the shape SightingIn.load returns."""
    (narrative, observed_at, url, _, source_name, source_kind, actor_name, actor_role) = checked[:8]
    (quote, language, country, external_id, confidence, reported_url, reported_name) = checked[8:]
    return {
        "narrative": narrative,
        "observed_at": observed_at,
        "url": url,
        "reported_in": None
        if reported_name is None
        else {"url": reported_url, "name": reported_name},
        "source": {"name": source_name, "kind": source_kind},
        "actor": None if actor_name is None else {"name": actor_name, "role": actor_role},
        "quote": quote,
        "language": language,
        "country": country,
        "external_id": external_id,
        "confidence": confidence,
    }


def _text(value: Any, longest: int, shortest: int = 1) -> bool:
    """service.schemas.common.Text's rules: a string of bounded length, no NUL, valid Unicode."""
    if type(value) is not str or not shortest <= len(value) <= longest or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pair(value: Any, name: str) -> bool:
    return type(value) is dict and _PAIR_KEYS[name].issuperset(value)


def _moment(value: Any) -> dt.datetime | None:
    """Timestamp's rules: RFC 3339 with an offset, read as marshmallow reads it, 1900 to 2200."""
    if type(value) is not str or RFC3339.fullmatch(value) is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None or not 1900 <= moment.year <= 2200:
        return None
    return moment


def _web_url(value: Any) -> tuple[str | None, str | None]:
    """WebUrl's rules: (the URL as stored, its normalised form), or (None, None)."""
    if not _text(value, url_limits.MAX_URL):
        return None, None
    url = value.strip()
    if not url or len(url) > url_limits.MAX_URL or url_limits.problem(url):
        return None, None
    if not urls.is_web_url(url):
        return None, None
    try:
        normalized = urls.normalize(url)
    except (ValueError, UnicodeError):
        return None, None
    if len(normalized) > url_limits.MAX_URL:
        return None, None
    return url, normalized
