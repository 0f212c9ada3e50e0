"""Hostile sizes and encodings through a real gunicorn: huge and deeply nested JSON, invalid UTF-8
and invalid Unicode, NUL bytes.

The rule everywhere: a documented 4xx as `application/problem+json`, never a 5xx, never HTML,
never a hang; and the tables are all still there afterwards.

Each test collects every violation before failing, so one run lists all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from reliability.hostile import (
    CAP,
    NARRATIVE_OTHER,
    NARRATIVE_TEXT,
    REBUTTAL_OTHER,
    REBUTTAL_TEXT,
    SIGHTING_OTHER,
    SIGHTING_TEXT,
    Probe,
    _body_endpoints,
    _get,
    _narrative,
    _rebuttal,
    _set,
    _sighting,
    _unique,
    _valid_bodies,
)

pytestmark = pytest.mark.usefixtures("tables_survive")


def _with_raw(body: dict, field_: str, raw: bytes) -> bytes:
    """The body as JSON bytes, with `raw` spliced (unescaped) into the text field."""
    marker = "RAW-BYTES-GO-HERE"
    return json.dumps(_set(body, field_, f"x{marker}")).encode().replace(marker.encode(), raw)


# ---------------------------------------------------------------------------------------------


def test_huge_bodies_are_refused_with_413_or_accepted_when_under_the_cap(live, records):
    probe = Probe(live)

    # Exactly at the cap (valid JSON padded with whitespace): accepted. One byte more: 413.
    base = json.dumps(_narrative(slug=f"cap-{_unique()}")).encode()
    probe(
        "POST",
        "/v1/narratives",
        base + b" " * (CAP - len(base)),
        expect=201,
        label="body of exactly MAX_CONTENT_LENGTH",
    )
    base = json.dumps(_narrative(slug=f"cap-{_unique()}")).encode()
    probe(
        "POST",
        "/v1/narratives",
        base + b" " * (CAP + 1 - len(base)),
        expect=413,
        label="body one byte over MAX_CONTENT_LENGTH",
    )

    # A full batch just under the cap is stored whole.
    items = [_sighting("hostile-target", quote="q" * 1700) for _ in range(1000)]
    batch = json.dumps({"sightings": items}).encode()
    assert len(batch) < CAP, len(batch)
    answer = probe(
        "POST", "/v1/sightings", batch, expect=200, label=f"batch of 1000 in {len(batch)} bytes"
    )
    if answer is not None and answer.status == 200 and answer.json().get("created") != 1000:
        probe.problems.append(
            f"batch of 1000 under the cap: {answer.json().get('created')} created"
        )

    # Over the cap, with and without Content-Length, on every body endpoint.
    big = b'{"title": "' + b"x" * (3 * CAP // 2) + b'"}'
    for method, path, body, _ in _valid_bodies(records):
        probe(method, path, big, expect=413, label=f"{method} {path} 3 MiB")
        probe(method, path, _chunks(big), expect=413, label=f"{method} {path} 3 MiB chunked")
        # Valid JSON padded past the cap: the first 2 MiB parse, but the body is still too large.
        padded = json.dumps(body).encode() + b" " * (3 * CAP // 2)
        probe(method, path, padded, expect=413, label=f"{method} {path} valid JSON padded to 3 MiB")
        probe(
            method,
            path,
            _chunks(padded),
            expect=413,
            label=f"{method} {path} valid JSON padded to 3 MiB, chunked",
        )

    # Too many items, huge arrays and objects, huge numbers: refused quickly, never a 5xx.
    small = _sighting("hostile-target", actor=None, quote=None)
    probe("POST", "/v1/sightings", {"sightings": [small] * 1001}, expect=413, label="batch of 1001")
    probe(
        "POST",
        "/v1/sightings",
        b'{"sightings": [' + b"1," * 400_000 + b"1]}",
        expect=413,
        label="batch of 400001 numbers",
    )
    probe(
        "POST",
        "/v1/narratives",
        _narrative(keywords=["k"] * 200_000),
        expect=422,
        label="200000 keywords",
    )
    many_keys = {f"k{i}": i for i in range(100_000)}
    for method, path in _body_endpoints(records):
        probe(
            method,
            path,
            many_keys,
            expect={400, 413, 422},
            label=f"{method} {path} 100000 unknown keys",
        )
    # Numbers: 5000 digits exceed Python's int-parsing limit (4300), 1e999 is infinity.
    for method, path in _body_endpoints(records):
        probe(
            method,
            path,
            b'{"confidence": ' + b"1" * 5000 + b"}",
            expect={400, 422},
            label=f"{method} {path} 5000-digit number",
        )
        probe(
            method,
            path,
            b'{"confidence": 1e999}',
            expect={400, 422},
            label=f"{method} {path} 1e999",
        )
    probe.verdict("huge bodies")


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_deeply_nested_json_is_a_400(live, records):
    probe = Probe(live)
    depth = 100_000
    bodies = {
        "nested arrays": b"[" * depth + b"]" * depth,
        "nested objects": b'{"a":' * depth + b"1" + b"}" * depth,
        "nested inside a field": b'{"title": ' + b"[" * depth + b"]" * depth + b"}",
        "nested inside a batch": b'{"sightings": [' + b"[" * depth + b"]" * depth + b"]}",
    }
    for method, path in _body_endpoints(records):
        for name, body in bodies.items():
            probe(method, path, body, expect=400, label=f"{method} {path} {name} ({depth} deep)")
        # Deep but within the parser's reach: a validation error, not a crash.
        shallow = b'{"title": ' + b"[" * 500 + b"]" * 500 + b"}"
        probe(
            method, path, shallow, expect={400, 422}, label=f"{method} {path} 500 deep in a field"
        )
    probe.verdict("deeply nested JSON")


INVALID_UTF8 = {
    "0xff 0xfe": b"\xff\xfe",
    "overlong '/'": b"\xc0\xaf",
    "truncated sequence": b"\xe2\x82",
    "encoded surrogate": b"\xed\xa0\x80",
    "beyond U+10FFFF": b"\xf4\x90\x80\x80",
    "latin-1 text": "Zürich".encode("latin-1"),
}


def test_invalid_utf8_and_invalid_unicode_are_refused(live, records):
    probe = Probe(live)
    for method, path, body, field_ in _valid_bodies(records):
        for name, raw in INVALID_UTF8.items():
            probe(
                method,
                path,
                _with_raw(body, field_, raw),
                expect=400,
                label=f"{method} {path} {name} in {field_}",
            )
    # A lone surrogate as a JSON escape is valid JSON but not Unicode text: it cannot be stored.
    for field_ in NARRATIVE_TEXT:
        body = _set(_narrative(), field_, "x\ud800")
        probe(
            "POST",
            "/v1/narratives",
            json.dumps(body).encode(),
            expect={400, 422},
            label=f"POST /v1/narratives lone surrogate in {field_}",
        )
    for field_ in SIGHTING_TEXT:
        body = _set(_sighting("hostile-target"), field_, "x\udc00")
        probe(
            "POST",
            "/v1/sightings",
            json.dumps(body).encode(),
            expect={400, 422},
            label=f"POST /v1/sightings lone surrogate in {field_}",
        )
        probe(
            "POST",
            "/v1/sightings",
            json.dumps({"sightings": [body]}).encode(),
            expect={400, 422},
            label=f"batch lone surrogate in {field_}",
        )
    for field_ in REBUTTAL_TEXT:
        body = _set(_rebuttal("hostile-target"), field_, "x\ud83d")
        probe(
            "POST",
            "/v1/rebuttals",
            json.dumps(body).encode(),
            expect={400, 422},
            label=f"POST /v1/rebuttals lone surrogate in {field_}",
        )
    # In the query string, the path and headers: never a 5xx.
    for query in (
        "q=%ff",
        "q=%ed%a0%80",
        "q=%c0%af",
        "tag=%ff",
        "cursor=%ff%fe",
        "updated_since=%ff",
    ):
        probe("GET", f"/v1/narratives?{query}", expect={200, 400, 422})
    for query in ("source=%ff", "actor=%ed%a0%80", "url=https://x.example/%ff", "narrative=%ff"):
        probe("GET", f"/v1/sightings?{query}", expect={200, 400, 404, 422})
    for query in ("issuer=%ff", "narrative=%ed%a0%80"):
        probe("GET", f"/v1/rebuttals?{query}", expect={200, 400, 404, 422})
    probe("GET", "/v1/narratives/%ff", expect=404)
    probe(
        "GET",
        "/v1/me",
        headers={"Authorization": b"Bearer \xff\xfe"},
        expect=401,
        label="Authorization with invalid UTF-8",
    )
    probe(
        "POST",
        "/v1/sightings",
        _sighting("hostile-target"),
        {"Idempotency-Key": b"k\xff"},
        expect=400,
        label="Idempotency-Key with invalid UTF-8",
    )
    probe.verdict("invalid UTF-8")


def test_nul_bytes_in_every_text_field_are_a_422(live, records):
    probe = Probe(live)

    def check(method: str, path: str, body: dict, field_: str, error_key: str) -> None:
        answer = probe(method, path, body, expect=422, label=f"{method} {path} NUL in {field_}")
        if answer is not None and answer.status == 422:
            errors = answer.json().get("errors") or {}
            if not any(key == error_key or key.startswith(error_key + ".") for key in errors):
                probe.problems.append(
                    f"{method} {path} NUL in {field_}: errors name {sorted(errors)}"
                )

    for field_ in NARRATIVE_TEXT + NARRATIVE_OTHER:
        body = _set(_narrative(), field_, "bad\x00value")
        check("POST", "/v1/narratives", body, field_, field_)
        patch = {field_.split(".")[0]: _get(body, field_.split(".")[0])}
        check("PATCH", f"/v1/narratives/{records['narrative']}", patch, field_, field_)
    for field_ in SIGHTING_TEXT + SIGHTING_OTHER:
        body = _set(_sighting("hostile-target"), field_, "bad\x00value")
        check("POST", "/v1/sightings", body, field_, field_)
        check(
            "POST",
            "/v1/sightings",
            {"sightings": [body]},
            f"batch {field_}",
            f"sightings.0.{field_}",
        )
        patch = {field_.split(".")[0]: _get(body, field_.split(".")[0])}
        check("PATCH", f"/v1/sightings/{records['sighting']}", patch, field_, field_)
    for field_ in REBUTTAL_TEXT + REBUTTAL_OTHER:
        body = _set(_rebuttal("hostile-target"), field_, "bad\x00value")
        check("POST", "/v1/rebuttals", body, field_, field_)
        patch = {field_.split(".")[0]: _get(body, field_.split(".")[0])}
        check("PATCH", f"/v1/rebuttals/{records['rebuttal']}", patch, field_, field_)
    check("POST", "/v1/keys", {"name": "bad\x00name", "role": "reader"}, "name", "name")
    # In query parameters: refused (400/422) or matched literally (200), never a 5xx.
    for path, names in (
        ("/v1/narratives", ("q", "tag", "cursor", "updated_since")),
        ("/v1/sightings", ("narrative", "source", "actor", "language", "country", "url", "cursor")),
        ("/v1/rebuttals", ("narrative", "issuer", "language", "cursor")),
        ("/v1/audit", ("record", "key", "resource", "action")),
    ):
        for name in names:
            probe("GET", f"{path}?{name}=a%00b", expect={400, 404, 422})
    probe.verdict("NUL bytes")
