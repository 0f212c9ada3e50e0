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

# One request reads at most this many audit rows, however few of them match its filters, so a
# filter that matches rarely costs a few pages of cheap scanning rather than one long query.
SCAN_ROWS = 5000

# The record an audit row is about, and what its transaction did to it. Only the first row of
# a (xid, record) pair stands for the event (e.first_id = a.id). Filters are on the derived
# resource (k.resource), which no index matches: the planner then walks the (xid, id) window,
# instead of AND-ing in the resource index's million entries.
_EVENTS = """
SELECT a.id, a.xid, a.at AS occurred_at, a.record_id, k.resource, e.type, e.by
  FROM audit_log a
 CROSS JOIN LATERAL (
       SELECT CASE a.resource WHEN 'narrative_aliases' THEN 'narrative'
                              WHEN 'rebuttal_narratives' THEN 'rebuttal'
                              ELSE a.resource END AS resource) k
 CROSS JOIN LATERAL (
       SELECT min(g.id) AS first_id,
              k.resource || '.' || CASE
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
   AND (a.xid, a.id) <= (%(until_xid)s::xid8, %(until_id)s)
   -- implied by the two above, but the planner estimates a plain range far better than a row
   -- comparison, and so walks the index in order instead of sorting the window
   AND a.xid BETWEEN %(after_xid)s::xid8 AND %(until_xid)s::xid8
   AND k.resource IN ('narrative', 'sighting', 'rebuttal')
   AND e.first_id = a.id
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
    new, so it sees every committed row below this bound, and those rows can no longer change
    (which is also why two statements may read the same window)."""
    row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin").fetchone()
    return int(row["xmin"])


def scan_end(conn: Connection, *, xmin: int, after: tuple[int, int]) -> tuple[int, int] | None:
    """The (xid, id) of the SCAN_ROWS-th audit row after `after` and below xmin; None if there
    are fewer (then a page may read up to xmin)."""
    row = conn.execute(
        """
        SELECT a.xid::text AS end_xid, a.id AS end_id FROM audit_log a
         WHERE a.xid < %(xmin)s AND (a.xid, a.id) > (%(after_xid)s::xid8, %(after_id)s)
         ORDER BY a.xid, a.id OFFSET %(skip)s LIMIT 1
        """,
        {
            "xmin": str(xmin),
            "after_xid": str(after[0]),
            "after_id": after[1],
            "skip": SCAN_ROWS - 1,
        },
    ).fetchone()
    return (int(row["end_xid"]), row["end_id"]) if row else None


def page(
    conn: Connection,
    *,
    xmin: int,
    after: tuple[int, int],
    until: tuple[int, int] | None,
    limit: int,
    types: list[str] | None = None,
    narrative: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Events after `after`, up to `until` (inclusive) and below xmin, in (xid, id) order; up
    to limit + 1 of them."""
    query = sql.SQL(_EVENTS)
    if types:  # only the audit rows that can make those types (a cheap filter before the laterals)
        query += sql.SQL(" AND k.resource = ANY(%(resources)s)")
    if narrative is not None:
        query += sql.SQL(_OF_NARRATIVE)
    wrapped = sql.SQL(
        "SELECT id, xid::text AS xid, occurred_at, record_id, resource, type, by"
        "  FROM ({events}) ev {types} ORDER BY ev.xid, ev.id LIMIT %(n)s"
    ).format(
        events=query,
        types=sql.SQL("WHERE ev.type = ANY(%(types)s)" if types else ""),
    )
    until = until or (2**63, 2**63 - 1)  # no bound but xmin
    params = {
        "xmin": str(xmin),
        "after_xid": str(after[0]),
        "after_id": after[1],
        "until_xid": str(until[0]),
        "until_id": until[1],
        "resources": sorted({kind.split(".", 1)[0] for kind in types or ()}),
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
