"""SQL for NDJSON imports: a staging table filled by COPY, then one set-based INSERT.
Functions take a connection first and never commit: an import is one transaction."""

from collections.abc import Iterable
from typing import Any

from psycopg import Connection

from service.domain.import_lines import COLUMNS, Row
from service.repo import narratives as narratives_repo
from service.repo import sightings as sightings_repo

# Dropped at commit, and by `drop_staging` at the end of an import, so that two imports in one
# transaction (the tests' single connection) each start empty. Temporary: not WAL-logged, not
# seen by anyone else.
_CREATE = """
CREATE TEMPORARY TABLE sighting_import (
    line             integer     NOT NULL,
    narrative_ref    text        NOT NULL,
    observed_at      timestamptz NOT NULL,
    url              text,
    url_normalized   text,
    source_name      text        NOT NULL,
    source_kind      text        NOT NULL,
    actor_name       text,
    actor_role       text,
    quote            text,
    language         text        NOT NULL,
    country          text,
    external_id      text,
    confidence       real,
    reported_in_url  text,
    reported_in_name text,
    content_key      text
) ON COMMIT DROP
"""

_COPY = f"COPY sighting_import (line, {', '.join(COLUMNS)}) FROM STDIN"

# The batch INSERT's row order (service/repo/sightings.py _INSERT_MANY; tests/test_import.py
# holds the two equal), so that an import and a batch sharing items take their unique-index
# locks in the same order and never deadlock; the line number only settles ties, so that of
# lines with one identity the first is stored. ON CONFLICT skips what exists, or what an
# earlier line of the file inserted moments before in this same statement.
_INSERT = """
INSERT INTO sightings (id, narrative_id, observed_at, url, url_normalized, source_name,
                       source_kind, actor_name, actor_role, quote, language, country,
                       external_id, confidence, reported_in_url, reported_in_name, content_key,
                       reported_by)
SELECT gen_random_uuid(), t.narrative_id, t.observed_at, t.url, t.url_normalized, t.source_name,
       t.source_kind, t.actor_name, t.actor_role, t.quote, t.language, t.country,
       t.external_id, t.confidence, t.reported_in_url, t.reported_in_name, t.content_key, %(by)s
  FROM (SELECT n.id AS narrative_id, s.*
          FROM sighting_import s
          JOIN unnest(%(refs)s::text[], %(ids)s::uuid[]) AS n (ref, id)
            ON n.ref = s.narrative_ref) t
 ORDER BY t.narrative_id, t.url_normalized, t.content_key, t.external_id, t.line
ON CONFLICT DO NOTHING
"""


def create_staging(conn: Connection) -> None:
    conn.execute(_CREATE)


def drop_staging(conn: Connection) -> None:
    conn.execute("DROP TABLE sighting_import")


def stage(conn: Connection, rows: Iterable[tuple[int, Row]]) -> int:
    """COPY (line, row) pairs into the staging table as they come (one COPY statement, fed
    while the caller reads and checks the next lines); returns how many."""
    written = 0
    with conn.cursor() as cursor, cursor.copy(_COPY) as copy:
        for number, row in rows:
            copy.write_row((number, *row))
            written += 1
    return written


def narratives(conn: Connection) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """({ref: {id, slug, status}} for the staged refs that name a narrative, held against an
    archive until commit; every distinct staged ref)."""
    refs = [
        row["narrative_ref"]
        for row in conn.execute("SELECT DISTINCT narrative_ref FROM sighting_import").fetchall()
    ]
    return narratives_repo.resolve_many(conn, refs), refs


def lines_naming(conn: Connection, refs: list[str], limit: int) -> tuple[int, list[dict]]:
    """(how many staged lines name one of `refs`, the first `limit` of them: {line, ref})."""
    if not refs:
        return 0, []
    count = conn.execute(
        "SELECT count(*) AS n FROM sighting_import WHERE narrative_ref = ANY(%(refs)s)",
        {"refs": refs},
    ).fetchone()["n"]
    first = conn.execute(
        "SELECT line, narrative_ref AS ref FROM sighting_import"
        "  WHERE narrative_ref = ANY(%(refs)s) ORDER BY line LIMIT %(limit)s",
        {"refs": refs, "limit": limit},
    ).fetchall()
    return count, first


def has_external_ids(conn: Connection) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT FROM sighting_import WHERE external_id IS NOT NULL) AS yes"
    ).fetchone()["yes"]


def insert(conn: Connection, narrative_ids: dict[str, Any], *, by: str, rows: int) -> int:
    """Insert the staged rows (`rows` of them) whose narrative ref is in `narrative_ids`
    ({ref: id}); returns how many were new."""
    if not narrative_ids:
        return 0
    if has_external_ids(conn):
        sightings_repo.lock_external_ids(conn, by)
    refs = list(narrative_ids)
    before = _allow_time(conn, rows)
    cursor = conn.execute(
        _INSERT, {"refs": refs, "ids": [narrative_ids[ref] for ref in refs], "by": by}
    )
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (before,))
    return cursor.rowcount


# The one INSERT of a large import outlasts the statement timeout meant for a request's
# statements (a million rows take a minute on two cores): it gets the timeout plus this much
# per row, about three times what a row was measured to cost (bench/imports.py).
_MS_PER_ROW = 0.2


def _allow_time(conn: Connection, rows: int) -> str:
    """Raise the statement timeout (unless none is set) for this transaction by the rows'
    allowance; returns the setting before."""
    return conn.execute(
        """
        SELECT current_setting('statement_timeout') AS before,
               set_config('statement_timeout',
                          CASE WHEN current_setting('statement_timeout')::interval = '0'
                               THEN '0'
                               ELSE (extract(epoch FROM current_setting('statement_timeout')
                                                        ::interval) * 1000
                                     + %(extra)s)::bigint::text END,
                          true)
        """,
        {"extra": int(rows * _MS_PER_ROW)},
    ).fetchone()["before"]
