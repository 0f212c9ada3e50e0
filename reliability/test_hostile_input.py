"""Hostile input through a real gunicorn: huge and deeply nested JSON, invalid UTF-8 and invalid
Unicode, NUL bytes, SQL and script injection in every text field, path traversal in `{ref}`.

The rule everywhere: a documented 4xx as `application/problem+json`, never a 5xx, never HTML,
never a hang; text that is valid is stored literally and returned exactly (JSON-escaped, as
`application/json`); and the tables are all still there afterwards.

Each test collects every violation before failing, so one run lists all of them.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import pytest

from reliability.figures import FIGURES
from reliability.harness import Gunicorn, Response, issue_key, serving
from service import config

SECTION = "hostile input"
CAP = config.DEFAULTS["MAX_CONTENT_LENGTH"]  # 2 MiB
SLOW = 10.0  # seconds: any answer slower than this is a hang

INJECTIONS = [
    "'; DROP TABLE sightings; --",
    '" OR 1=1 --',
    "' OR '1'='1' /*",
    "1; SELECT pg_sleep(10); --",
    "<script>alert(1)</script>",
    '</script><img src=x onerror="alert(1)">',
    "\\\"'`${7*7}{{7*7}}%s%n",
    "\u2028\u2029 line separators, \u202e right-to-left override",
    "\x07\x1b[31m control characters \x7f",
    "emoji \U0001f600 and \u0301 combining",
]

TRAVERSALS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e",
    "..",
    "%00",
    "%00..%2F",
    "ukrainian-window%00",
    "..%5C..%5Cwindows%5Cwin.ini",
    "%252e%252e%252f",
    "%ff%fe",
    "%c0%ae%c0%ae%c0%af",
    "a" * 3000,
]

TABLES = (
    "narratives",
    "narrative_aliases",
    "sightings",
    "rebuttals",
    "rebuttal_narratives",
    "api_keys",
    "audit_log",
    "idempotency_keys",
)


class Probe:
    """Sends requests and keeps score: every answer is checked against the universal rules."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.sent = 0
        self.server_errors = 0
        self.problems: list[str] = []

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict | None = None,
        *,
        expect: set[int] | int | None = None,
        label: str = "",
    ) -> Response | None:
        label = label or f"{method} {path[:120]}"
        self.sent += 1
        try:
            response = self.server.request(method, path, body, headers, timeout=30)
        except (OSError, http.client.HTTPException) as error:
            self.problems.append(f"{label}: no answer ({type(error).__name__}: {error})")
            return None
        if response.status >= 500:
            self.server_errors += 1
        wanted = {expect} if isinstance(expect, int) else expect
        if wanted is not None and response.status not in wanted:
            self.problems.append(f"{label}: expected {sorted(wanted)}, got {response.describe()}")
        elif response.status >= 500:
            self.problems.append(f"{label}: {response.describe()}")
        if response.status >= 400 and response.content_type != "application/problem+json":
            self.problems.append(f"{label}: {response.status} as {response.content_type!r}")
        if response.status < 400 and response.body and response.content_type != "application/json":
            self.problems.append(f"{label}: {response.status} as {response.content_type!r}")
        if response.elapsed > SLOW:
            self.problems.append(f"{label}: took {response.elapsed:.1f}s")
        if response.body and response.content_type.endswith("json"):
            try:
                response.json()
            except ValueError:
                self.problems.append(f"{label}: body is not valid JSON: {response.body[:200]!r}")
        return response

    def verdict(self, what: str) -> None:
        FIGURES.add(SECTION, "requests sent", self.sent)
        FIGURES.add(SECTION, "5xx", self.server_errors)
        FIGURES.add(SECTION, "violations", len(self.problems))
        assert not self.problems, f"{what}: {len(self.problems)} violations:\n" + "\n".join(
            self.problems[:60]
        )


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[Gunicorn]:
    key, _ = issue_key(database_url, "hostile-admin", "admin")
    with serving(database_url, workers=2, key=key) as server:
        yield server


@pytest.fixture(scope="module")
def records(live: Gunicorn) -> dict[str, str]:
    """A narrative, a sighting and a rebuttal to aim at."""
    narrative = live.request("POST", "/v1/narratives", _narrative(slug="hostile-target"))
    assert narrative.status == 201, narrative.describe()
    sighting = live.request("POST", "/v1/sightings", _sighting("hostile-target"))
    assert sighting.status == 201, sighting.describe()
    rebuttal = live.request("POST", "/v1/rebuttals", _rebuttal("hostile-target"))
    assert rebuttal.status == 201, rebuttal.describe()
    return {
        "narrative": "hostile-target",
        "sighting": sighting.json()["id"],
        "rebuttal": rebuttal.json()["id"],
    }


@pytest.fixture(autouse=True, scope="module")
def tables_survive(database_url: str, live: Gunicorn) -> Iterator[None]:
    yield
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        for table in TABLES:
            (found,) = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            assert found, f"table {table} is gone"
    assert live.request("GET", "/readyz").status == 200


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def _narrative(**fields: Any) -> dict[str, Any]:
    return {
        "slug": f"hostile-{_unique()}",
        "title": "Hostile narrative",
        "summary": "A summary.",
        "aliases": [{"text": "враждебный", "language": "ru"}],
        "keywords": ["hostile"],
        "tags": ["hostile-input"],
        **fields,
    }


def _sighting(narrative: str, **fields: Any) -> dict[str, Any]:
    return {
        "narrative": narrative,
        "observed_at": "2024-03-26T12:00:00Z",
        "url": f"https://hostile.example/{_unique()}",
        "source": {"name": "Hostile outlet", "kind": "outlet"},
        "actor": {"name": "Some Speaker", "role": "Spokesperson"},
        "quote": "A quote.",
        "language": "ru",
        "country": "RU",
        "external_id": f"hostile-{_unique()}",
        "confidence": 0.5,
        **fields,
    }


def _rebuttal(narrative: str, **fields: Any) -> dict[str, Any]:
    return {
        "narratives": [narrative],
        "issuer": {
            "name": "An Official",
            "role": "Minister",
            "organization": "A Ministry",
            "country": "UA",
            "kind": "government",
        },
        "verdict": "false",
        "statement": "A statement.",
        "url": f"https://hostile.example/statement/{_unique()}",
        "published_at": "2024-03-26T15:00:00Z",
        "language": "en",
        **fields,
    }


def _body_endpoints(records: dict[str, str]) -> list[tuple[str, str]]:
    """Every operation that reads a JSON body."""
    return list(dict.fromkeys((method, path) for method, path, _, _ in _valid_bodies(records)))


def _valid_bodies(records: dict[str, str]) -> list[tuple[str, str, dict, str]]:
    """(method, path, a valid body, one of its free-text fields) for every body operation."""
    target = records["narrative"]
    return [
        ("POST", "/v1/narratives", _narrative(), "title"),
        ("PATCH", f"/v1/narratives/{target}", {"summary": "s"}, "summary"),
        ("POST", "/v1/sightings", _sighting(target), "quote"),
        ("POST", "/v1/sightings", {"sightings": [_sighting(target)]}, "sightings.0.quote"),
        ("PATCH", f"/v1/sightings/{records['sighting']}", {"quote": "q"}, "quote"),
        ("POST", "/v1/rebuttals", _rebuttal(target), "statement"),
        ("PATCH", f"/v1/rebuttals/{records['rebuttal']}", {"statement": "s"}, "statement"),
        ("POST", "/v1/keys", {"name": f"k-{_unique()}", "role": "reader"}, "name"),
    ]


def _with_raw(body: dict, field_: str, raw: bytes) -> bytes:
    """The body as JSON bytes, with `raw` spliced (unescaped) into the text field."""
    marker = "RAW-BYTES-GO-HERE"
    return json.dumps(_set(body, field_, f"x{marker}")).encode().replace(marker.encode(), raw)


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of body with the dotted path (list indexes as numbers) set to value."""
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node: Any = copy
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return copy


def _get(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


NARRATIVE_TEXT = ["title", "summary", "aliases.0.text", "keywords.0"]
NARRATIVE_OTHER = ["slug", "tags.0", "aliases.0.language", "parent"]
SIGHTING_TEXT = ["quote", "source.name", "actor.name", "actor.role", "external_id"]
SIGHTING_OTHER = ["narrative", "url", "language", "country", "observed_at", "source.kind"]
REBUTTAL_TEXT = ["statement", "issuer.name", "issuer.role", "issuer.organization"]
REBUTTAL_OTHER = ["narratives.0", "url", "language", "issuer.country", "verdict", "published_at"]


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


def test_injection_strings_are_stored_literally_and_returned_as_json(live, records, database_url):
    probe = Probe(live)
    counts_before = _counts(database_url)
    created = {"narratives": 0, "sightings": 0, "rebuttals": 0}

    for n, payload in enumerate(INJECTIONS):
        text = f"{payload} #{n}"
        narrative = _narrative()
        for field_ in NARRATIVE_TEXT:
            narrative = _set(narrative, field_, f"{text} ({field_})")
        _create_and_compare(
            probe, "/v1/narratives", "/v1/narratives/{id}", narrative, NARRATIVE_TEXT
        )
        created["narratives"] += 1

        sighting = _sighting(
            narrative["slug"], url=f"https://hostile.example/{_unique()}?q=%27%20OR%201=1"
        )
        for field_ in SIGHTING_TEXT:
            sighting = _set(sighting, field_, f"{text} ({field_})")
        _create_and_compare(
            probe, "/v1/sightings", "/v1/sightings/{id}", sighting, [*SIGHTING_TEXT, "url"]
        )
        created["sightings"] += 1

        rebuttal = _rebuttal(narrative["slug"])
        for field_ in REBUTTAL_TEXT:
            rebuttal = _set(rebuttal, field_, f"{text} ({field_})")
        _create_and_compare(probe, "/v1/rebuttals", "/v1/rebuttals/{id}", rebuttal, REBUTTAL_TEXT)
        created["rebuttals"] += 1

        # Exact-match filters find exactly that record; search finds it and nothing breaks.
        source = sighting["source"]["name"]
        answer = probe("GET", "/v1/sightings?" + _query(source=source), expect=200)
        if answer is not None and answer.status == 200:
            found = [item["source"]["name"] for item in answer.json()["items"]]
            if found != [source]:
                probe.problems.append(f"?source={source!r} found {found!r}")
        probe("GET", "/v1/sightings?" + _query(actor=sighting["actor"]["name"]), expect=200)
        probe("GET", "/v1/rebuttals?" + _query(issuer=rebuttal["issuer"]["name"]), expect=200)
        probe("GET", "/v1/narratives?" + _query(q=payload), expect=200)
        # Echoed back in a 404 problem (the detail names the ref): still JSON, never HTML.
        probe("GET", "/v1/narratives/" + _quote(payload), expect=404)

    counts_after = _counts(database_url)
    for table, added in created.items():
        if counts_after[table] - counts_before[table] != added:
            probe.problems.append(
                f"{table}: {counts_before[table]} -> {counts_after[table]} rows, {added} created"
            )
    FIGURES.add(SECTION, "injection records", sum(created.values()))
    probe.verdict("injection strings")


def _create_and_compare(
    probe: Probe, create: str, read: str, body: dict, fields: list[str]
) -> None:
    answer = probe("POST", create, body, expect=201, label=f"POST {create} with injection strings")
    if answer is None or answer.status != 201:
        return
    for label, document in (("create", answer.json()),):
        _compare(probe, f"{create} {label}", body, document, fields)
    fetched = probe("GET", read.format(id=answer.json()["id"]), expect=200)
    if fetched is not None and fetched.status == 200:
        _compare(probe, f"GET {read}", body, fetched.json(), fields)
        raw = fetched.body.decode("utf-8")
        if "<script>" in raw and fetched.content_type != "application/json":
            probe.problems.append(f"GET {read}: script text served as {fetched.content_type}")


def _compare(probe: Probe, label: str, sent: dict, got: dict, fields: list[str]) -> None:
    for field_ in fields:
        expected = _get(sent, field_)
        actual = _get(got, field_)
        if actual != expected:
            probe.problems.append(f"{label}: {field_} stored as {actual!r}, sent {expected!r}")


def _query(**params: str) -> str:
    return urlencode(params)


def _quote(text: str) -> str:
    return quote(text, safe="")


def _counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in ("narratives", "sightings", "rebuttals")
        }


def test_path_traversal_in_refs_is_a_404(live, records, database_url):
    probe = Probe(live)
    counts_before = _counts(database_url)
    patch = {
        "/v1/narratives/{}": {"summary": "patched"},
        "/v1/sightings/{}": {"quote": "patched"},
        "/v1/rebuttals/{}": {"statement": "patched"},
    }
    for ref in TRAVERSALS:
        for template, methods in (
            ("/v1/narratives/{}", ("GET", "PATCH", "DELETE")),
            ("/v1/narratives/{}/sightings", ("GET",)),
            ("/v1/narratives/{}/rebuttals", ("GET",)),
            ("/v1/sightings/{}", ("GET", "PATCH")),
            ("/v1/rebuttals/{}", ("GET", "PATCH", "DELETE")),
            ("/v1/keys/{}", ("GET", "DELETE")),
        ):
            path = template.format(ref)
            for method in methods:
                answer = probe(
                    method, path, patch.get(template) if method == "PATCH" else None, expect=404
                )
                if answer is not None and b"root:" in answer.body:
                    probe.problems.append(f"{method} {path}: served a file: {answer.body[:200]!r}")
    # Traversal aimed at the static routes: the contract and docs are served, nothing else is.
    for path in (
        "/docs/assets/../../../../../../etc/passwd",
        "/docs/assets/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/docs/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/docs/assets//etc/passwd",
        "/docs/assets/%2fetc%2fpasswd",
        "/docs/assets/..%5c..%5c..%5cetc%5cpasswd",
        "/docs/../../etc/passwd",
        "/openapi.yaml/..%2f..%2fetc%2fpasswd",
        "/static/../../etc/passwd",
    ):
        answer = probe("GET", path, expect={400, 404})
        if answer is not None and b"root:" in answer.body:
            probe.problems.append(f"GET {path}: served a file")
    # Nothing was changed or removed by any of it.
    time.sleep(0.1)
    if _counts(database_url) != counts_before:
        probe.problems.append(f"row counts changed: {counts_before} -> {_counts(database_url)}")
    target = probe("GET", f"/v1/narratives/{records['narrative']}", expect=200)
    if target is not None and target.status == 200 and target.json()["status"] != "active":
        probe.problems.append("the target narrative was archived by a traversal DELETE")
    probe.verdict("path traversal")
