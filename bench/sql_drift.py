"""Whether bench/bare_sql.py and bench/match_sql.py still hold the statements the service sends.

`drift()` replays the repo functions against a recording connection and compares the statements
they send, in order, with the copies the bare app and the peer send verbatim: a change to the
service's SQL stops the benchmark instead of silently comparing the service with different SQL.
"""

import contextlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import AdaptersMap

from bench import match_sql
from bench.bare_sql import (
    AUTHENTICATE,
    CLAIM,
    COVERAGE_OVERALL,
    COVERAGE_PAGE,
    GET_SIGHTING,
    INSERT_MANY,
    NARRATIVE_REBUTTALS_PAGE,
    RESOLVE,
    RESOLVE_MANY,
    SIGHTINGS_PAGE,
    TIMELINE_BUCKETS,
    TIMELINE_HOUR_BUCKETS,
    TIMELINE_REBUTTALS,
    TIMELINE_SPAN,
)
from service.repo import keys, match, narratives, rebuttals, sightings, stats, timeline
from service.repo.pages import Page


class _Recorder:
    """A stand-in connection that records the statements a repo function executes. Every
    INSERT "creates" all its rows and every look-up finds nothing, so the function takes the
    path the benchmark's requests take."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._rows: list[dict[str, Any]] = []
        self.adapters = AdaptersMap(psycopg.adapters)  # what a cursor's loaders are set on

    def cursor(self) -> "_Recorder":
        return self  # its own cursor: statements run on it are recorded alike

    def __enter__(self) -> "_Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, query: Any, params: Any = None, **_: Any) -> "_Recorder":
        text = query.as_string(None) if isinstance(query, sql.Composable) else query
        self.statements.append(text)
        ids = params.get("id") if isinstance(params, dict) else None
        self._rows = [{"id": id_} for id_ in ids] if isinstance(ids, list) else []
        claims = params.get("identity") if isinstance(params, dict) else None
        self.rowcount = len(claims) if isinstance(claims, list) else len(self._rows)
        return self

    def fetchall(self) -> list[dict[str, Any]]:
        return self._rows

    def fetchone(self) -> dict[str, Any] | None:
        return None

    def __iter__(self) -> Any:
        return iter(self._rows)


def _statements(call: Callable[[Any], Any]) -> list[str]:
    recorder = _Recorder()
    # A function that reads a column of the row the recorder never finds (`.fetchone()["n"]`)
    # fails after its statement was recorded, which is all that is compared.
    with contextlib.suppress(TypeError):
        call(recorder)
    return [_squash(text) for text in recorder.statements]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def drift() -> list[str]:
    """Names of the copied statements that no longer match what the service sends."""
    an_id = uuid.uuid4()
    now = datetime.now(UTC)
    item = {
        "narrative_id": an_id,
        "observed_at": datetime.now(UTC),
        "url": "https://example.org/a",
        "source": {"name": "s", "kind": "outlet"},
        "actor": None,
        "quote": None,
        "language": "en",
        "country": None,
        "external_id": "an-id",  # as the benchmark's items have
        "confidence": None,
    }
    expected: dict[str, tuple[list[str], Callable[[Any], Any]]] = {
        "RESOLVE_MANY": ([RESOLVE_MANY], lambda c: narratives.resolve_many(c, ["a-slug"])),
        "AUTHENTICATE": ([AUTHENTICATE], lambda c: keys.authenticate(c, "a-hash")),
        "RESOLVE": ([RESOLVE], lambda c: narratives.resolve(c, "a-slug")),
        "CLAIM + INSERT_MANY": (
            [CLAIM, INSERT_MANY],
            lambda c: sightings.insert_many(c, [item], by="k"),
        ),
        "GET_SIGHTING": ([GET_SIGHTING], lambda c: sightings.get(c, an_id)),
        "SIGHTINGS_PAGE": ([SIGHTINGS_PAGE], lambda c: sightings.list_page(c, Page(50))),
        "TIMELINE_SPAN": ([TIMELINE_SPAN], lambda c: timeline.span(c, an_id)),
        "TIMELINE_BUCKETS": (
            [TIMELINE_BUCKETS],
            lambda c: timeline.buckets(c, an_id, unit="day", lo=now, hi=now),
        ),
        "TIMELINE_HOUR_BUCKETS": (
            [TIMELINE_HOUR_BUCKETS],
            lambda c: timeline.buckets(c, an_id, unit="hour", lo=now, hi=now),
        ),
        "TIMELINE_REBUTTALS": (
            [TIMELINE_REBUTTALS],
            lambda c: timeline.rebuttals_between(c, an_id, lo=now, hi=now, limit=1000),
        ),
        "COVERAGE_PAGE": (
            [COVERAGE_PAGE],
            lambda c: stats.coverage_page(c, sort="unrebutted_first", limit=50),
        ),
        "COVERAGE_OVERALL": ([COVERAGE_OVERALL], lambda c: stats.coverage_overall(c)),
        "NARRATIVE_REBUTTALS_PAGE": (
            [NARRATIVE_REBUTTALS_PAGE],
            lambda c: rebuttals.list_page(c, Page(50), narrative_id=an_id),
        ),
        **_match_statements(an_id),
    }
    return [
        name
        for name, (copies, call) in expected.items()
        if [_squash(copy) for copy in copies] != _statements(call)
    ]


def _match_statements(an_id: uuid.UUID) -> dict[str, tuple[list[str], Callable[[Any], Any]]]:
    """POST /v1/match's statements (bench/match_sql.py), one per repo function."""
    m = match_sql
    return {
        "match TERMS": ([m.TERMS], lambda c: match.terms(c, text="a", language="en")),
        "match PHRASE_HITS": (
            [m.PHRASE_HITS],
            lambda c: match.phrase_hits(c, terms=["a"], search=["a"]),
        ),
        "match FUZZY_HITS": (
            [m.FUZZY_HITS],
            lambda c: match.fuzzy_hits(c, text="a", threshold=0.4),
        ),
        "match LIVE_NARRATIVES": ([m.LIVE_NARRATIVES], lambda c: match.live_narratives(c)),
        "match URL_HITS": ([m.URL_HITS], lambda c: match.url_hits(c, url_normalized="u")),
        "match TEXTS": ([m.TEXTS], lambda c: match.texts(c, [1])),
        "match BRIEFS": ([m.BRIEFS], lambda c: match.briefs(c, [an_id])),
        "match LATEST_REBUTTALS": (
            [m.LATEST_REBUTTALS],
            lambda c: rebuttals.latest_for(c, [an_id], 5),
        ),
    }
