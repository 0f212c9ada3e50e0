"""Helpers for the bad-input tests (test_bad_bodies.py, test_bad_requests.py): the check that a
response is an RFC 9457 problem document, and a snapshot of every stored row so a test can show
that a refused request changed nothing."""

import uuid
from typing import Any

MISSING = str(uuid.uuid4())
BAD_URL = "http://[::1"  # urlsplit raises ValueError on the unclosed IPv6 bracket


def assert_problem(response, status: int, kind: str | None = None, errors=None) -> dict:
    """A problem document: status, media type, the four members, and (if given) exactly the
    fields named in `errors`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and isinstance(body["title"], str)
    assert body["detail"] and isinstance(body["detail"], str)
    assert body["type"].endswith(f":{kind}") if kind else body["type"]
    if errors is not None:
        expected = {errors} if isinstance(errors, str) else set(errors)
        assert set(body["errors"]) == expected, body["errors"]
        assert all(body["errors"][name] for name in expected)
    return body


def snapshot(conn) -> dict[str, Any]:
    """Every stored row, so a test can show a refused write changed nothing."""
    tables = ("narratives", "narrative_aliases", "sightings", "rebuttals", "rebuttal_narratives")
    return {
        table: conn.execute(
            f"SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t::text), '[]') AS rows FROM {table} t"
        ).fetchone()["rows"]
        for table in tables
    }
