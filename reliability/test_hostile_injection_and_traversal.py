"""Hostile text through a real gunicorn: SQL and script injection in every text field, path
traversal in `{ref}`.

The rule everywhere: text that is valid is stored literally and returned exactly (JSON-escaped, as
`application/json`); a ref that names nothing is a 404 as `application/problem+json`, never a 5xx,
never HTML, never a file; and the tables are all still there afterwards.

Each test collects every violation before failing, so one run lists all of them.
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

import psycopg
import pytest

from reliability.figures import FIGURES
from reliability.hostile import (
    NARRATIVE_TEXT,
    REBUTTAL_TEXT,
    SECTION,
    SIGHTING_TEXT,
    Probe,
    _get,
    _narrative,
    _rebuttal,
    _set,
    _sighting,
    _unique,
)

pytestmark = pytest.mark.usefixtures("tables_survive")

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


# ---------------------------------------------------------------------------------------------


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
