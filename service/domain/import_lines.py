"""One NDJSON import line: is it a sighting (the rules of SightingIn), and if so its staging row.

SightingIn (marshmallow) is the rule. Loading a schema costs tens of microseconds a line, which
is most of an import's time; so a line is first tried by `fast`, plain Python checks that accept
only what SightingIn accepts, and give the same values; whatever `fast` does not accept (an
invalid line, or a shape it does not know, such as a narrative given as an object) goes to
`slow`, which parses strictly and loads with SightingIn, for the verdict and its messages.
tests/test_import_lines.py holds the two equal over valid and invalid lines.
"""

import datetime as dt
import re
from typing import Any

import marshmallow as ma
import orjson

from service.domain import url_limits, urls
from service.repo.sightings import content_key
from service.schemas.common import LANGUAGE_PATTERN, MAX_REF, RFC3339, flatten
from service.schemas.sightings import SOURCE_KINDS, SightingIn
from service.web import jsonio

# The staging row, in the staging table's column order (service/repo/imports.py).
COLUMNS = (
    "narrative_ref",
    "observed_at",
    "url",
    "url_normalized",
    "source_name",
    "source_kind",
    "actor_name",
    "actor_role",
    "quote",
    "language",
    "country",
    "external_id",
    "confidence",
    "reported_in_url",
    "reported_in_name",
    "content_key",
)

Row = tuple[Any, ...]
Errors = dict[str, list[str]]

_SCHEMA = SightingIn()
_FIELDS = frozenset(_SCHEMA.fields)
_KINDS = frozenset(SOURCE_KINDS)
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_PAIR_KEYS = {
    "source": frozenset({"name", "kind"}),
    "actor": frozenset({"name", "role"}),
    "reported_in": frozenset({"url", "name"}),
}


def check(line: bytes) -> tuple[Row | None, Errors | None]:
    """(row, None) for a line that is a valid sighting, else (None, its errors by field)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, {"_line": ["Not valid JSON."]}
    row = fast(value, line)
    if row is not None:
        return row, None
    return slow(line)


def slow(line: bytes) -> tuple[Row | None, Errors | None]:
    """The reference: strict JSON (no repeated member names) and SightingIn."""
    try:
        value = jsonio.loads_request(line)
    except jsonio.DuplicateKey as exc:
        return None, {"_line": [str(exc)]}
    except (ValueError, RecursionError):
        return None, {"_line": ["Not valid JSON."]}
    try:
        data = _SCHEMA.load(value)
    except ma.ValidationError as exc:
        return None, flatten(exc.messages)
    return row_of(data), None


def row_of(data: dict[str, Any]) -> Row:
    """The staging row of a sighting as SightingIn loads it."""
    source, actor, reported_in = data["source"], data["actor"] or {}, data["reported_in"] or {}
    url = data["url"]
    normalized = urls.normalize(url) if url else None
    return _row(
        data["narrative"],
        data["observed_at"],
        url,
        normalized,
        source["name"],
        source["kind"],
        actor.get("name"),
        actor.get("role"),
        data["quote"],
        data["language"],
        data["country"],
        data["external_id"],
        data["confidence"],
        reported_in.get("url"),
        reported_in.get("name"),
    )


def _row(*values: Any) -> Row:
    (_, observed_at, _, normalized, source_name, source_kind, actor_name, _, quote) = values[:9]
    external_id = values[11]
    key = None
    if not normalized and not external_id:
        key = content_key(
            {
                "observed_at": observed_at,
                "source_name": source_name,
                "source_kind": source_kind,
                "actor_name": actor_name,
                "quote": quote,
            }
        )
    return (*values, key)


def fast(value: Any, raw: bytes) -> Row | None:
    """The staging row if plain checks show the line is a valid sighting in a common shape;
    None when they cannot tell (then `slow` decides)."""
    if type(value) is not dict or not _FIELDS.issuperset(value) or not _no_repeats(value, raw):
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
    return _row(
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


def _no_repeats(value: dict[str, Any], raw: bytes) -> bool:
    """True when no object of the line names a member twice (which orjson would hide by
    keeping the last). Without escapes in the line, every JSON string is its text between two
    quotes, so a member name occurs as `"name"` once per object holding it, plus once per value
    equal to it: a count no higher than the objects holding it proves no repeats. A line with
    escapes, deeper nesting, or a name also used as a value, is left to `slow`'s parser."""
    if b"\\" in raw:
        return False
    counts = dict.fromkeys(value, 1)
    for item in value.values():
        if type(item) is dict:
            for name, leaf in item.items():
                if type(leaf) is dict or type(leaf) is list:
                    return False
                counts[name] = counts.get(name, 0) + 1
        elif type(item) is list:
            return False
    count = raw.count
    return all(count(_TOKENS.get(name) or _token(name)) == n for name, n in counts.items())


def _token(name: str) -> bytes:
    return b'"' + name.encode() + b'"'


# The member names of a sighting, as they appear quoted in a line.
_TOKENS = {
    name: _token(name) for name in (*_FIELDS, "name", "kind", "role", "url", "id", "slug", "title")
}
