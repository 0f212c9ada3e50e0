"""SQL for NDJSON imports: a staging table filled by COPY, then set-based statements that claim
the lines' identities and insert the lines that are new. Functions take a connection first and
never commit: an import is one transaction."""

from collections.abc import Iterable
from typing import Any

from psycopg import Connection

from service.domain.import_lines import COLUMNS, Row
from service.repo import identities
from service.repo import narratives as narratives_repo

# Dropped at commit, and by `drop_staging` at the end of an import, so that two imports in one
# transaction (the tests' single connection) each start empty. Temporary: not WAL-logged, not
# seen by anyone else.
_CREATE = """
CREATE TEMPORARY TABLE sighting_import (
    line             integer     NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
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

# How many identities each line claimed (a line that claimed none has no row).
_CREATE_CLAIMED = """
CREATE TEMPORARY TABLE sighting_import_claimed (
    id     uuid    NOT NULL,
    claims integer NOT NULL
) ON COMMIT DROP
"""

# Every identity of every line whose narrative is usable, in one statement in identity order,
# as the batch path claims (service/repo/identities.py CLAIM; tests/test_import.py holds the
# two orders equal): imports and batches sharing items wait for each other in one order and
# never deadlock. Of lines sharing an identity the first claims it.
_CLAIM = """
WITH claimed AS (
    INSERT INTO sighting_identities (identity, sighting_id)
    SELECT k.identity, s.id
      FROM sighting_import s
      JOIN unnest(%(refs)s::text[], %(ids)s::uuid[]) AS n (ref, id) ON n.ref = s.narrative_ref
     CROSS JOIN LATERAL unnest(sighting_identities_of(n.id, s.url_normalized, %(by)s,
                                                      s.external_id, s.content_key))
                        AS k (identity)
     WHERE k.identity IS NOT NULL
     ORDER BY k.identity, s.line
    ON CONFLICT DO NOTHING
    RETURNING sighting_id
)
INSERT INTO sighting_import_claimed (id, claims)
SELECT sighting_id, count(*) FROM claimed GROUP BY sighting_id
"""

# Staged lines into sightings, with their narratives' ids: the head of the two inserts below.
_INSERT_STAGED = """
INSERT INTO sightings (id, narrative_id, observed_at, url, url_normalized, source_name,
                       source_kind, actor_name, actor_role, quote, language, country,
                       external_id, confidence, reported_in_url, reported_in_name, content_key,
                       reported_by)
SELECT s.id, n.id, s.observed_at, s.url, s.url_normalized, s.source_name,
       s.source_kind, s.actor_name, s.actor_role, s.quote, s.language, s.country,
       s.external_id, s.confidence, s.reported_in_url, s.reported_in_name, s.content_key, %(by)s
  FROM sighting_import s
  JOIN unnest(%(refs)s::text[], %(ids)s::uuid[]) AS n (ref, id) ON n.ref = s.narrative_ref
"""

# The lines that claimed all their identities (as many as sighting_identities_of gives them):
# nothing else can be writing them.
_INSERT_CLAIMED = (
    _INSERT_STAGED
    + """  JOIN sighting_import_claimed c ON c.id = s.id
 WHERE c.claims = (s.url_normalized IS NOT NULL)::int + (s.content_key IS NOT NULL)::int
                  + (s.external_id IS NOT NULL)::int
"""
)

# Lines chosen by identities.decide (their claims settled first).
_INSERT_CHOSEN = (
    _INSERT_STAGED
    + """ WHERE s.id = ANY(%(chosen)s::uuid[])
"""
)

# The lines not stored that hold a claim (to free) or that no stored sighting duplicates (they
# lost an identity to an earlier line that was not stored either): each with its identities in
# order of precedence and their holders. Usually none; the other lines not stored are
# duplicates of a stored sighting.
_UNSETTLED = """
WITH unstored AS MATERIALIZED (
    SELECT s.line, s.id,
           sighting_identities_of(n.id, s.url_normalized, %(by)s, s.external_id,
                                  s.content_key) AS keys
      FROM sighting_import s
      JOIN unnest(%(refs)s::text[], %(ids)s::uuid[]) AS n (ref, id) ON n.ref = s.narrative_ref
     WHERE NOT EXISTS (SELECT FROM sightings x WHERE x.id = s.id)
)
SELECT u.line, u.id, o.keys, o.holders, o.stored
  FROM unstored u
 CROSS JOIN LATERAL (
       SELECT array_agg(k.identity ORDER BY k.slot) AS keys,
              array_agg(c.sighting_id ORDER BY k.slot) AS holders,
              coalesce(bool_or(c.sighting_id = u.id), false) AS mine,
              coalesce(bool_or(EXISTS (SELECT FROM sightings h WHERE h.id = c.sighting_id)),
                       false) AS stored
         FROM unnest(u.keys) WITH ORDINALITY AS k (identity, slot)
         LEFT JOIN sighting_identities c ON c.identity = k.identity
        WHERE k.identity IS NOT NULL) o
 WHERE o.mine OR NOT o.stored
 ORDER BY u.line
"""


def create_staging(conn: Connection) -> None:
    conn.execute(_CREATE)
    conn.execute(_CREATE_CLAIMED)


def drop_staging(conn: Connection) -> None:
    conn.execute("DROP TABLE sighting_import, sighting_import_claimed")


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


def insert(conn: Connection, narrative_ids: dict[str, Any], *, by: str, rows: int) -> int:
    """Insert the staged rows (`rows` of them) whose narrative ref is in `narrative_ids`
    ({ref: id}); returns how many were new: those whose identities no stored sighting and no
    earlier stored line holds (service/repo/identities.py)."""
    if not narrative_ids:
        return 0
    refs = list(narrative_ids)
    params = {"refs": refs, "ids": [narrative_ids[ref] for ref in refs], "by": by}
    before = _allow_time(conn, rows)
    conn.execute(_CLAIM, params)
    created = conn.execute(_INSERT_CLAIMED, params).rowcount
    # Lines that claimed some identities but not all: only then can claims be left to free, or
    # a line have lost an identity to a line that is not stored.
    claiming = conn.execute("SELECT count(*) AS n FROM sighting_import_claimed").fetchone()["n"]
    if claiming > created:
        created += _settle(conn, conn.execute(_UNSETTLED, params).fetchall(), params)
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (before,))
    return created


def _settle(conn: Connection, lines: list[dict[str, Any]], params: dict[str, Any]) -> int:
    """Free the claims of lines not stored; store, in line order, the lines that only lost an
    identity to an earlier line not stored; returns how many were stored."""
    ids = {line["line"]: line["id"] for line in lines}
    ours = set(ids.values())
    keys = {line["line"]: tuple(key.hex for key in line["keys"]) for line in lines}
    mine = {
        key: holder
        for line in lines
        for key, holder in zip(keys[line["line"]], line["holders"], strict=True)
        if holder in ours
    }
    fate = identities.decide(
        [line["line"] for line in lines if not line["stored"]],
        keys,
        ids,
        mine,
        {},
    )
    # A blocked line duplicated a sighting stored when it claimed, gone since: a duplicate, as
    # is a line that claimed nothing for the same reason.
    if fate.moves:
        identities.settle(conn, fate.moves)
    if not fate.created:
        return 0
    chosen = [ids[line] for line in fate.created]
    return conn.execute(_INSERT_CHOSEN, {**params, "chosen": chosen}).rowcount


# The statements of a large import outlast the statement timeout meant for a request's
# statements: it gets the timeout plus this much per row, about three times what a row was
# measured to cost on two cores with a million sightings stored (bench/imports.py: a bare COPY
# into `sightings` 0.29 ms a row, the import 0.48). 0.2 ms, measured on an empty table, let a
# 200,000-line import run out of time (a 503, nothing written) against a million sightings.
_MS_PER_ROW = 1.0


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
