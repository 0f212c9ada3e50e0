"""One NDJSON import line: is it a sighting (the rules of SightingIn), and if so its staging row.

SightingIn (marshmallow) is the rule. Loading a schema costs tens of microseconds a line, which
is most of an import's time; so a line is first tried by `fast`: no repeated member names, and
service/domain/sighting_checks.py's plain checks, which accept only what SightingIn accepts,
with the same values. Whatever `fast` does not accept (an invalid line, or a shape it does not
know, such as a narrative given as an object) goes to `slow`, which parses strictly and loads
with SightingIn, for the verdict and its messages. tests/test_import_lines.py holds the two
equal over valid and invalid lines.
"""

from typing import Any

import marshmallow as ma
import orjson

from service.domain import sighting_checks, urls
from service.repo.sightings import content_key
from service.schemas.common import flatten
from service.schemas.sightings import SightingIn
from service.web import jsonio

# The staging row, in the staging table's column order (service/repo/imports.py).
COLUMNS = (*sighting_checks.NAMES, "content_key")

Row = tuple[Any, ...]
Errors = dict[str, list[str]]

_SCHEMA = SightingIn()


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
    if type(value) is not dict or not _no_repeats(value, raw):
        return None
    checked = sighting_checks.values(value)
    return None if checked is None else _row(*checked)


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
    name: _token(name)
    for name in (*sighting_checks.FIELDS, "name", "kind", "role", "url", "id", "slug", "title")
}
