"""Matching: recount how many phrases hold each lexeme, which the matcher prunes a text's
lexemes by (migrations/0020_phrase_term_counts.sql, service/matching/pruning.py)."""

from typing import Any

from psycopg import Connection

from service.config import Settings
from service.jobs import job
from service.repo import match


@job("match-term-counts", every=lambda settings: settings.MATCH_TERMS_SECONDS)
def count_terms(conn: Connection, settings: Settings) -> dict[str, Any]:
    return {"lexemes": match.count_terms(conn)}
