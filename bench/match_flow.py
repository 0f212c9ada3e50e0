"""POST /v1/match for the bare app and the peer: service/api/match.py's `find()`, step for step.

One copy serves both apps: the flow is a generator that yields each statement it sends (the
copies in bench/match_sql.py) and is sent back the rows;
`run` drives it on the bare app's blocking connection, `run_async` on the peer's asynchronous
one. Everything between the statements is the service's own pure code: language detection,
Ukrainian lemmatisation, pruning and scoring (service.matching.*), the constants of
service.api.match, and URL normalisation (service.domain.urls).

When `find()` changes, change `find` below to match it, statement for statement;
tests/test_bench_peer.py holds the statements sent, in order, and the answer's bytes equal to
the service's on the benchmark's seed.
"""

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, Connection

from bench import match_sql
from service.api.match import (
    FUZZY_THRESHOLD,
    LARGE_POPULATION,
    POPULATION_SECONDS,
    REBUTTALS_PER_MATCH,
    SHORT_TEXT,
)
from service.domain import urls
from service.matching import language as languages
from service.matching import pruning, scoring
from service.matching.lemmas import lemmatize_uk
from service.matching.periodic import Periodic
from service.repo.rebuttals import by_narrative


@dataclass(frozen=True)
class Statement:
    query: str
    params: dict[str, Any] | None = None
    one: bool = False  # fetchone(), else fetchall()
    prepare: bool | None = None  # as psycopg's execute() takes it


# Yields statements, is sent their rows, returns the answer.
Flow = Generator[Statement, Any, Any]


def find(*, text: str, url: str | None, language: str | None, limit: int) -> Flow:
    used = languages.resolve(language) or (
        languages.detect(text) if text.strip() else languages.NEUTRAL
    )
    hits: list[dict[str, Any]] = []
    common: list[str] = []
    held: dict[str, int] = {}
    if text.strip():
        analysed = lemmatize_uk(text) if used == "uk" else text
        found = yield Statement(match_sql.TERMS, {"text": analysed, "language": used}, one=True)
        terms = found["terms"]
        search, common = pruning.split(terms, found["counts"], found["unseen"])
        if search:
            hits = yield Statement(
                match_sql.PHRASE_HITS,
                {
                    "terms": terms,
                    "search": search,
                    "long": scoring.LONG_PHRASE,
                    "coverage": scoring.MIN_COVERAGE,
                },
                prepare=False,
            )
        held = next((hit["held"] for hit in hits if hit["held"] is not None), {})
        if len(text) <= SHORT_TEXT:
            hits += yield Statement(
                match_sql.FUZZY_HITS, {"text": text, "threshold": FUZZY_THRESHOLD}
            )
    url_hits = (yield Statement(match_sql.URL_HITS, {"url": urls.normalize(url)})) if url else []
    ranked = scoring.rank(
        [scoring.Hit.from_row(row) for row in hits],
        narratives=(yield from _population()) if hits else 1,
        common=common,
        url_hits=url_hits,
        held=held,
    )[:limit]
    ids = [match.narrative_id for match in ranked]
    rows = yield Statement(match_sql.BRIEFS, {"ids": ids})
    briefs = {row["id"]: row for row in rows}
    yield from _fill_texts([item for match in ranked for item in match.evidence])
    rows = []
    if ids:
        rows = yield Statement(match_sql.LATEST_REBUTTALS, {"ids": ids, "n": REBUTTALS_PER_MATCH})
    rebuttals = by_narrative(ids, rows)
    return {
        "matches": [
            {
                "narrative": briefs[match.narrative_id],
                "score": match.score,
                "evidence": match.evidence,
                "rebuttals": rebuttals[match.narrative_id],
            }
            for match in ranked
        ],
        "language": used,
    }


# This process's own, as each of the service's processes keeps its own (service.api.match).
POPULATION = Periodic(POPULATION_SECONDS, 0, always_below=LARGE_POPULATION)


def _population() -> Flow:
    if POPULATION.due():
        found = yield Statement(match_sql.LIVE_NARRATIVES, one=True)
        POPULATION.keep(found["n"])
    return POPULATION.value


def _fill_texts(evidence: list[dict[str, Any]]) -> Flow:
    missing = scoring.phrases_without_text(evidence)
    texts = {}
    if missing:
        rows = yield Statement(match_sql.TEXTS, {"ids": missing})
        texts = {row["id"]: row["text"] for row in rows}
    scoring.fill_texts(evidence, texts)


def run(conn: Connection, flow: Flow) -> Any:
    """Drive `flow` on a blocking connection; its answer."""
    rows = None
    try:
        while True:
            statement = flow.send(rows)
            cursor = conn.execute(statement.query, statement.params, prepare=statement.prepare)
            rows = cursor.fetchone() if statement.one else cursor.fetchall()
    except StopIteration as done:
        return done.value


async def run_async(conn: AsyncConnection, flow: Flow) -> Any:
    """Drive `flow` on an asynchronous connection; its answer."""
    rows = None
    try:
        while True:
            statement = flow.send(rows)
            cursor = await conn.execute(
                statement.query, statement.params, prepare=statement.prepare
            )
            rows = await (cursor.fetchone() if statement.one else cursor.fetchall())
    except StopIteration as done:
        return done.value
