"""Matching's upkeep: build the phrases of new sightings' quotes, which their insert queued
(migrations/0021_quote_phrases_queued.sql), and recount how many phrases hold each lexeme, which
the matcher prunes a text's lexemes by (migrations/0020_phrase_term_counts.sql,
service/matching/pruning.py)."""

import time
from typing import Any

from prometheus_client import Gauge
from psycopg import Connection

from service.config import Settings
from service.jobs import MORE, job
from service.repo import match, phrases

# A round ends after this, so that SIGTERM and the other jobs (webhooks) wait little; with
# more queued, the worker runs the job again after them instead of waiting MATCH_QUOTES_SECONDS.
ROUND_SECONDS = 2.0

QUEUED = Gauge("narratives_match_quotes_queued", "Sightings whose quote is not matchable yet.")
OLDEST = Gauge(
    "narratives_match_quotes_oldest_seconds", "Age of the oldest quote waiting to be matchable."
)


@job("match-quotes", every=lambda settings: settings.MATCH_QUOTES_SECONDS, exclusive=False)
def build_quotes(conn: Connection, settings: Settings) -> dict[str, Any]:
    """Build queued quotes' phrases until none is left or the round's time is up. Every worker
    may run it at once (each claims its own queue rows), though while one works through the
    head of the queue the others find little to claim."""
    built, more = drain_quotes(conn, seconds=ROUND_SECONDS)
    queued = phrases.queued_quotes(conn)
    QUEUED.set(queued["sightings"])
    OLDEST.set(queued["age"])
    outcome: dict[str, Any] = {"quotes": built} if built else {}
    if more:
        outcome[MORE] = True
    return outcome


def drain_quotes(conn: Connection, *, seconds: float | None = None) -> tuple[int, bool]:
    """Build queued quotes a short transaction at a time (`conn` in autocommit) until none is
    left to claim or `seconds` have passed (None: no limit); (quotes built, whether it stopped
    for time with more to claim). The benchmark of imports drains the queue with it too."""
    built = 0
    ends = None if seconds is None else time.monotonic() + seconds
    while True:
        with conn.transaction():
            done = phrases.build_quotes(conn)
        built += done["built"]
        if not done["claimed"]:
            return built, False
        if ends is not None and time.monotonic() >= ends:
            return built, True


@job("match-term-counts", every=lambda settings: settings.MATCH_TERMS_SECONDS)
def count_terms(conn: Connection, settings: Settings) -> dict[str, Any]:
    return {"lexemes": match.count_terms(conn)}
