"""Lookups several views share: the narrative a ref or a body field names."""

from typing import Any

from psycopg import Connection

from service.domain.narratives import refusal
from service.repo import narratives as narratives_repo
from service.web.problems import not_found, unprocessable


def narrative_or_404(conn: Connection, ref: str) -> dict[str, Any]:
    """The narrative a path's `{ref}` names, archived ones included, else a 404 problem."""
    return narratives_repo.resolve(conn, ref) or not_found("narrative", ref)


def narrative_for_write(conn: Connection, ref: str, field: str) -> dict[str, Any]:
    """The narrative a body field names; unknown or archived ones are a 422 on that field."""
    narrative = narratives_repo.resolve(conn, ref, for_write=True)
    problem = refusal(narrative, ref)
    if problem:
        unprocessable(field, problem)
    return narrative
