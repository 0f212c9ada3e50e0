"""The fast checks (service/domain/sighting_checks.py) give SightingIn's verdict, for an import
line (service/domain/import_lines.py `fast`) and for a sighting posted alone or in a batch
(service/domain/ingest.py `load`): they accept only what SightingIn accepts, with the same
values, and accept the common shapes."""

import itertools
import json
import random
from typing import Any

import marshmallow as ma
import orjson
import pytest

from service.domain import import_lines, ingest
from service.schemas.sightings import SightingIn
from service.web import jsonio

BASE: dict[str, Any] = {
    "narrative": "ukrainian-window",
    "observed_at": "2024-03-26T12:00:00Z",
    "url": "https://outlet.example/a?id=1&utm_source=tg#x",
    "source": {"name": "SHOT", "kind": "outlet"},
    "actor": {"name": "Nikolai Patrushev", "role": "Secretary"},
    "quote": "Конечно, Украина",
    "language": "ru",
    "country": "RU",
    "external_id": "e-1",
    "confidence": 0.5,
    "reported_in": {"url": "https://dw.example/r", "name": "DW"},
}

# Values each field may take, valid or not: every combination of one change is a line.
VARIANTS: dict[str, list[Any]] = {
    "narrative": [
        "x",
        "a" * 100,
        "a" * 101,
        "",
        None,
        5,
        {"slug": "ukrainian-window"},
        {"id": "0b4a2c3e-0000-4000-8000-000000000000"},
        {},
        "nul\x00",
        ["x"],
    ],
    "observed_at": [
        "2024-03-26T12:00:00+03:00",
        "2024-03-26T12:00:00.1234567Z",
        "2024-03-26T12:00:00-00:00",
        "2024-03-26T12:00:00+23:59",
        "2016-12-31T23:59:60Z",
        "\uff12\uff10\uff12\uff14-03-26T12:00:00Z",  # full-width digits
        "2024-03-26t12:00:00.123456789Z",
        "2024-03-26T12:00:00z",
        "2024-03-26T12:00:00",
        "2024-03-26 12:00:00Z",
        "1899-12-31T23:59:59Z",
        "2200-12-31T23:59:59+00:00",
        "2201-01-01T00:00:00Z",
        "2024-02-30T12:00:00Z",
        "2024-03-26T24:00:00Z",
        "2024-03-26T12:00:00+24:00",
        "",
        None,
        1711454400,
    ],
    "url": [
        None,
        "  https://outlet.example/b  ",
        "https://user:pw@outlet.example/",
        "ftp://outlet.example/",
        "https://",
        "outlet.example/a",
        "https://xn--80ak6aa92e.com/путь?q=ё",
        "https://пример.рф/a",
        "https://outlet.example/" + "a" * 2030,
        "https://outlet.example/" + "ж" * 1000,
        "https://outlet.example/\t",
        "https://outlet.example:99999/",
        "",
        "   ",
        3,
    ],
    "source": [
        {"name": "x", "kind": "channel"},
        {"name": "x", "kind": "tv"},
        {"name": "x"},
        {"kind": "outlet"},
        {"name": "x", "kind": "outlet", "extra": 1},
        {"name": "", "kind": "outlet"},
        {"name": "n" * 201, "kind": "outlet"},
        {"name": None, "kind": "outlet"},
        None,
        "SHOT",
        [],
    ],
    "actor": [
        None,
        {"name": "A"},
        {"name": "A", "role": None},
        {"role": "r"},
        {"name": "A", "role": ""},
        {"name": "A", "role": "r" * 201},
        {"name": "A", "age": 3},
        "A",
    ],
    "quote": [None, "", "q" * 10000, "q" * 10001, 7, "with\nnewline\tand\\backslash"],
    "language": ["en", "zh-Hant-TW", "e", "english!", "en\n", "a" * 36, None, ""],
    "country": [None, "ua", "UKR", "U1", "ß", "", 1],
    "external_id": [None, "", "e" * 200, "e" * 201, 12, "tab\there"],
    "confidence": [
        None,
        0,
        1,
        1.0,
        0.0,
        -0.0,
        5e-324,
        -0.1,
        1.1,
        True,
        "0.5",
        float("nan"),
        10**400,
    ],
    "reported_in": [
        None,
        {"name": "DW"},
        {"url": None, "name": "DW"},
        {"url": "https://dw.example/r"},
        {"url": "not a url", "name": "DW"},
        {"name": "DW", "extra": 1},
        "DW",
    ],
}


def corpus() -> list[bytes]:
    lines = [json.dumps(BASE, ensure_ascii=False).encode()]
    for name, values in VARIANTS.items():
        for value in values:
            lines.append(_encode({**BASE, name: value}))
    for name in BASE:
        lines.append(_encode({k: v for k, v in BASE.items() if k != name}))  # missing
    lines += [
        _encode({**BASE, "colour": "red"}),
        _encode({"narrative": "x"}),
        b"[]",
        b"null",
        b'"text"',
        b"{}",
        b'{"narrative": "a", "narrative": "b"}',
        # Repeated members, with and without escapes, where orjson keeps only the last.
        json.dumps(BASE)[:-1].encode() + b', "language": "en"}',
        json.dumps(BASE)[:-1].encode() + b', "langu\\u0061ge": "en"}',
        json.dumps(BASE).replace('"kind": "outlet"', '"kind": "outlet", "kind": "tv"').encode(),
        json.dumps(BASE).replace('"kind": "outlet"', '"kind": "tv", "kind": "outlet"').encode(),
        # Member names appearing as values, and escapes in values.
        _encode({**BASE, "quote": "language"}),
        _encode({**BASE, "quote": 'he said "no"', "actor": {"name": "role"}}),
        json.dumps(BASE, ensure_ascii=True).encode(),
    ]
    rng = random.Random(11)
    names = list(VARIANTS)
    for _ in range(300):  # a few changes at once
        item = dict(BASE)
        for name in rng.sample(names, 3):
            item[name] = rng.choice(VARIANTS[name])
        if rng.random() < 0.2:
            del item[rng.choice(list(item))]
        lines.append(_encode(item))
    return lines


def _encode(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False, allow_nan=True).encode()


def reference(line: bytes) -> tuple[import_lines.Row | None, bool]:
    """SightingIn's verdict on a line, parsed as the batch path parses a body."""
    try:
        value = jsonio.loads_request(line)
        data = SightingIn().load(value)
    except (ValueError, ma.ValidationError):
        return None, False
    return import_lines.row_of(data), True


@pytest.mark.parametrize("line", corpus(), ids=itertools.count())
def test_fast_accepts_only_what_sightingin_accepts_with_the_same_values(line: bytes):
    expected, valid = reference(line)
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = ma.missing
    fast = None if value is ma.missing else import_lines.fast(value, line)
    if fast is not None:
        assert valid and fast == expected
    row, errors = import_lines.check(line)
    assert (row is not None) == valid
    assert row == expected
    assert (errors is None) == valid


def test_the_fast_checks_take_the_common_shapes():
    lines = [line for line in corpus() if reference(line)[1] and b"\\" not in line]
    accepted = [line for line in lines if import_lines.fast(orjson.loads(line), line)]
    assert len(lines) > 40
    # What fast leaves to slow among valid lines: a narrative given as an object, a URL with
    # spaces around it, a member name used as a value.
    assert len(accepted) >= 0.8 * len(lines)


@pytest.mark.parametrize("line", corpus(), ids=itertools.count())
def test_a_posted_sighting_is_loaded_as_sightingin_loads_it(line: bytes):
    """What the batch and single paths record (mutation: as_loaded leaves out the actor's
    absent role, or takes a country before upper-casing it, and the loaded values differ)."""
    try:
        value = jsonio.loads_request(line)
    except ValueError:
        return  # refused before any sighting is loaded
    try:
        expected = SightingIn().load(value)
    except ma.ValidationError as error:
        with pytest.raises(ma.ValidationError) as refused:
            ingest.load(value)
        assert refused.value.messages == error.messages
        return
    assert ingest.load(value) == expected


def test_posted_sightings_in_the_common_shapes_skip_the_schema(monkeypatch):
    """The fast checks carry the common case (mutation: they vouch for nothing, and every
    sighting goes through the schema)."""
    valid = []
    for line in corpus():
        try:
            value = jsonio.loads_request(line)
            SightingIn().load(value)
        except (ValueError, ma.ValidationError):
            continue
        valid.append(value)
    loads = []
    original = ingest._ITEM.load
    monkeypatch.setattr(ingest._ITEM, "load", lambda item: loads.append(item) or original(item))
    for value in valid:
        ingest.load(value)
    assert len(valid) > 40
    assert len(loads) <= 0.2 * len(valid)
