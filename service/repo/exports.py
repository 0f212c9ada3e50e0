"""SQL for the exports (service/formats/): the rows a builder needs, in a fixed number of queries
whatever the size of the data. Functions take a connection first and never commit.

Sizes are bounded by the caller's limits: a narrative's latest sightings (plus the earliest, and
a summary of the rest), its latest rebuttals. False-positive sightings are never exported.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import Connection, sql

from service.repo import rebuttals as rebuttals_repo
from service.repo.pages import Page

# A narrative with what every format needs of it. Archived ones are included: whoever names one
# may export it; the feed leaves them out itself.
_NARRATIVE = sql.SQL("""
SELECT n.id, n.slug, n.title, n.summary, n.tags, n.status, n.parent_id,
       n.created_at, n.updated_at,
       coalesce((SELECT json_agg(json_build_object('text', al.text, 'language', al.language)
                                 ORDER BY al.position)
                   FROM narrative_aliases al
                  WHERE al.narrative_id = n.id), '[]'::json) AS aliases
  FROM narratives n
""")

# Sightings in the API's nested shape, with where each was reported: for a statement heard in a
# video, that report is the only page a reader of the export can open.
_SIGHTING_COLUMNS = sql.SQL("""
       s.id, s.narrative_id, s.observed_at, s.url, s.quote, s.language, s.country,
       s.created_at, s.updated_at,
       json_build_object('name', s.source_name, 'kind', s.source_kind) AS source,
       CASE WHEN s.actor_name IS NULL THEN NULL
            ELSE json_build_object('name', s.actor_name, 'role', s.actor_role) END AS actor,
       CASE WHEN s.reported_in_name IS NULL THEN NULL
            ELSE json_build_object('url', s.reported_in_url, 'name', s.reported_in_name)
       END AS reported_in
""")


def family(conn: Connection, narrative_id: uuid.UUID) -> dict[str, Any]:
    """{narrative, parent, children}: the narrative, its parent (or None) and its children, in
    one query."""
    query = sql.SQL(
        """{select}
         WHERE n.id = %(id)s
            OR n.id = (SELECT parent_id FROM narratives WHERE id = %(id)s)
            OR n.parent_id = %(id)s
         ORDER BY n.slug
        """
    ).format(select=_NARRATIVE)
    rows = conn.execute(query, {"id": narrative_id}).fetchall()
    me = next(row for row in rows if row["id"] == narrative_id)
    return {
        "narrative": me,
        "parent": next((row for row in rows if row["id"] == me["parent_id"]), None),
        "children": [row for row in rows if row["parent_id"] == narrative_id],
    }


def narratives(
    conn: Connection, ids: Sequence[uuid.UUID], *, archived: bool = True
) -> dict[uuid.UUID, dict[str, Any]]:
    """{id: narrative} for the given ids, archived ones only if `archived`."""
    query = sql.SQL(
        "{select} WHERE n.id = ANY(%(ids)s::uuid[]) AND (%(archived)s OR n.status <> 'archived')"
    ).format(select=_NARRATIVE)
    rows = conn.execute(query, {"ids": list(ids), "archived": archived}).fetchall()
    return {row["id"]: row for row in rows}


def latest_sightings(conn: Connection, narrative_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """The narrative's latest `limit` sightings, newest observed first."""
    query = sql.SQL(
        """SELECT {columns}
          FROM sightings s
         WHERE s.narrative_id = %(id)s AND s.status <> 'false_positive'
         ORDER BY s.observed_at DESC, s.id DESC
         LIMIT %(n)s
        """
    ).format(columns=_SIGHTING_COLUMNS)
    return conn.execute(query, {"id": narrative_id, "n": limit}).fetchall()


def older_sightings(
    conn: Connection, narrative_id: uuid.UUID, before: tuple[datetime, uuid.UUID]
) -> dict[str, Any]:
    """A summary of the sightings observed before `before` (the oldest one exported): count,
    first/last seen, and when the set was created and last changed. `modified_at` covers every
    sighting of the narrative, false positives included, since any of them changing (a review,
    a newer sighting pushing one out of the latest) changes what the summary holds."""
    return conn.execute(
        """
        SELECT count(*) FILTER (WHERE older) AS count,
               min(observed_at) FILTER (WHERE older) AS first_seen,
               max(observed_at) FILTER (WHERE older) AS last_seen,
               min(created_at) FILTER (WHERE older) AS created_at,
               max(greatest(created_at, updated_at)) AS modified_at
          FROM (SELECT observed_at, created_at, updated_at,
                       status <> 'false_positive'
                       AND (observed_at, id) < (%(at)s, %(after_id)s) AS older
                  FROM sightings
                 WHERE narrative_id = %(id)s) s
        """,
        {"id": narrative_id, "at": before[0], "after_id": before[1]},
    ).fetchone()


def appearances(
    conn: Connection, narrative_ids: Sequence[uuid.UUID], limit: int
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """{narrative id: sightings}: each narrative's latest `limit` sightings and its earliest one,
    in one query (a bounded index walk per narrative)."""
    query = sql.SQL(
        """
        SELECT DISTINCT ON (x.id) x.* FROM (
            SELECT s.* FROM unnest(%(ids)s::uuid[]) AS t (narrative_id)
             CROSS JOIN LATERAL (
                   SELECT {columns}
                     FROM sightings s
                    WHERE s.narrative_id = t.narrative_id AND s.status <> 'false_positive'
                    ORDER BY s.observed_at DESC, s.id DESC
                    LIMIT %(n)s) s
            UNION ALL
            SELECT s.* FROM unnest(%(ids)s::uuid[]) AS t (narrative_id)
             CROSS JOIN LATERAL (
                   SELECT {columns}
                     FROM sightings s
                    WHERE s.narrative_id = t.narrative_id AND s.status <> 'false_positive'
                    ORDER BY s.observed_at, s.id
                    LIMIT 1) s
        ) x
        ORDER BY x.id
        """
    ).format(columns=_SIGHTING_COLUMNS)
    rows = conn.execute(query, {"ids": list(narrative_ids), "n": limit}).fetchall()
    found: dict[uuid.UUID, list[dict[str, Any]]] = {id_: [] for id_ in narrative_ids}
    for row in sorted(rows, key=lambda r: (r["observed_at"], r["id"]), reverse=True):
        found[row["narrative_id"]].append(row)
    return found


def narrative_rebuttals(
    conn: Connection, narrative_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """The narrative's latest `limit` rebuttals, newest published first."""
    return rebuttals_repo.list_page(conn, Page(limit), narrative_id=narrative_id)[:limit]


def rebuttal_page(
    conn: Connection, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[dict[str, Any]]:
    """A page of every rebuttal, newest published first, up to limit + 1 rows (the feed)."""
    return rebuttals_repo.list_page(conn, Page(limit, after))
