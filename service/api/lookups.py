"""Lookups several views share: the narrative a ref or a body field names."""

from typing import Any

from psycopg import Connection

from service.repo import narratives as narratives_repo
from service.web.problems import not_found, unprocessable


def narrative_or_404(conn: Connection, ref: str) -> dict[str, Any]:
    """The narrative a path's `{ref}` names, archived ones included, else a 404 problem."""
    return narratives_repo.resolve(conn, ref) or not_found("narrative", ref)


def narrative_problem(narrative: dict[str, Any] | None, ref: str) -> str | None:
    """Why a narrative cannot take new records (unknown, archived), or None if it can."""
    if narrative is None:
        return f"No narrative matches '{ref}'."
    if narrative["status"] == "archived":
        return f"The narrative '{narrative['slug']}' is archived."
    return None


def narrative_for_write(conn: Connection, ref: str, field: str) -> dict[str, Any]:
    """The narrative a body field names; unknown or archived ones are a 422 on that field."""
    narrative = narratives_repo.resolve(conn, ref, for_write=True)
    problem = narrative_problem(narrative, ref)
    if problem:
        unprocessable(field, problem)
    return narrative
