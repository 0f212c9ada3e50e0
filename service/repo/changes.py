"""SQL for the change feed: the audit trail (migrations/0002, 0006) read in transaction order.

An event is the first audit row a transaction wrote about one record (a narrative and its
aliases, a rebuttal and its links, a sighting): one request that updates a narrative and
replaces its aliases writes three rows but is one `narrative.updated`. Its type is decided by
all of that transaction's rows about the record, so a rebuttal deleted with its links is a
`rebuttal.deleted` whichever trigger wrote first.

Paging is by (xid, id) and stops short of the snapshot's xmin: see migrations/0011 for why that
never skips a row. Key records never appear (their trail is for admins, at /v1/audit).
"""

import uuid
from typing import Any

from psycopg import Connection, sql

from service.repo import narratives, rebuttals, sightings

RESOURCES = ("narrative", "sighting", "rebuttal")
TYPES = (
    "narrative.created",
    "narrative.updated",
    "narrative.archived",
    "narrative.deleted",
    "sighting.created",
    "sighting.updated",
    "sighting.deleted",
    "rebuttal.created",
    "rebuttal.updated",
    "rebuttal.deleted",
)

# The record an audit row is about, and what the transaction did to it. `first` is false for
# every row of (xid, record) but the earliest, which stands for the event.
_EVENTS = """
SELECT a.id, a.xid, a.at AS occurred_at, a.record_id, k.resource, e.type, e.by
  FROM audit_log a
 CROSS JOIN LATERAL (
       SELECT CASE a.resource WHEN 'narrative_aliases' THEN 'narrative'
                              WHEN 'rebuttal_narratives' THEN 'rebuttal'
                              ELSE a.resource END AS resource) k
 CROSS JOIN LATERAL (
       SELECT k.resource || '.' || CASE
                WHEN bool_or(g.resource = k.resource AND g.action = 'delete') THEN 'deleted'
                WHEN bool_or(g.resource = k.resource AND g.action = 'create') THEN 'created'
                WHEN bool_or(g.resource = 'narrative' AND g.action = 'update'
                             AND g.after ->> 'status' = 'archived'
                             AND g.before ->> 'status' IS DISTINCT FROM 'archived')
                     THEN 'archived'
                ELSE 'updated' END AS type,
              (array_agg(g.key_name ORDER BY g.id)
                   FILTER (WHERE g.key_name IS NOT NULL))[1] AS by
         FROM audit_log g
        WHERE g.record_id = a.record_id AND g.xid = a.xid) e
 WHERE a.xid < %(xmin)s
   AND (a.xid, a.id) > (%(after_xid)s::xid8, %(after_id)s)
   AND a.resource IN ('narrative', 'narrative_aliases', 'sighting', 'rebuttal',
                      'rebuttal_narratives')
   AND NOT EXISTS (SELECT 1 FROM audit_log b
                    WHERE b.record_id = a.record_id AND b.xid = a.xid AND b.id < a.id)
"""

# A narrative's events: its own, its sightings' (wherever the sighting pointed before or after
# the change), and its rebuttals' (any rebuttal ever linked to it).
_OF_NARRATIVE = """
   AND (a.record_id = %(narrative)s
        OR (a.resource = 'sighting'
            AND %(narrative_text)s IN (a.after ->> 'narrative_id', a.before ->> 'narrative_id'))
        OR (k.resource = 'rebuttal'
            AND EXISTS (SELECT 1 FROM audit_log l
                         WHERE l.record_id = a.record_id AND l.resource = 'rebuttal_narratives'
                           AND coalesce(l.after, l.before) @> %(link)s::jsonb)))
"""


def snapshot_xmin(conn: Connection) -> int:
    """The oldest transaction still running: every one below it has finished.

    Read in its own statement BEFORE the page query: the page's snapshot is then at least as
    new, so it sees every committed row below this bound."""
    row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin").fetchone()
    return int(row["xmin"])


def page(
    conn: Connection,
    *,
    xmin: int,
    after: tuple[int, int],
    limit: int,
    types: list[str] | None = None,
    narrative: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Events after the (xid, id) position and below xmin, in (xid, id) order; up to limit + 1."""
    query = sql.SQL(_EVENTS)
    if narrative is not None:
        query += sql.SQL(_OF_NARRATIVE)
    wrapped = sql.SQL(
        "SELECT id, xid::text AS xid, occurred_at, record_id, resource, type, by"
        "  FROM ({events}) ev {types} ORDER BY ev.xid, ev.id LIMIT %(n)s"
    ).format(
        events=query,
        types=sql.SQL("WHERE ev.type = ANY(%(types)s)" if types else ""),
    )
    params = {
        "xmin": str(xmin),
        "after_xid": str(after[0]),
        "after_id": after[1],
        "types": types,
        "narrative": narrative,
        "narrative_text": str(narrative) if narrative else None,
        "link": f'[{{"narrative_id": "{narrative}"}}]' if narrative else None,
        "n": limit + 1,
    }
    rows = conn.execute(wrapped, params).fetchall()
    for row in rows:
        row["xid"] = int(row["xid"])
    return rows


# Each resource's rows as its GET shows them (the repo modules' own SELECTs), many at once.
_CURRENT = {
    "narrative": (narratives._SELECT, "n.id"),
    "sighting": (sightings._SELECT, "s.id"),
    "rebuttal": (rebuttals._SELECT, "r.id"),
}


def current(conn: Connection, resource: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """{id: row} for those of the ids that still exist."""
    if not ids:
        return {}
    select, key = _CURRENT[resource]
    query = sql.SQL("{select} WHERE {key} = ANY(%(ids)s::uuid[])").format(
        select=sql.SQL(select), key=sql.SQL(key)
    )
    return {row["id"]: row for row in conn.execute(query, {"ids": ids}).fetchall()}
