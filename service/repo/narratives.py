"""SQL for narratives and their aliases. Functions take a connection first and never commit."""

import uuid
from datetime import datetime
from typing import Any

from psycopg import Connection, sql

from service.repo import pages, phrases
from service.repo.pages import Keyset, Page
from service.repo.updates import update_columns

# One narrative as the API shows it, with its derived figures. The counts and first/last seen
# ignore sightings reviewed as false positives. None of them reads the narrative's sightings:
# each is its folded total plus the deltas ingest appended since (migrations 0013 and 0019), so
# the cost stays flat as a narrative gathers sightings, and no write updates a shared row. Only
# while a pending delta may have narrowed first/last seen (seen_stale: a sighting deleted,
# moved away, flagged or re-dated) are they the two ends of an index range instead, until the
# worker's fold recomputes them.
_SELECT = """
SELECT n.id, n.slug, n.title, n.summary, n.keywords, n.tags, n.status,
       n.created_at, n.updated_at, n.created_by AS reported_by, n.updated_by,
       CASE WHEN p.id IS NULL THEN NULL
            ELSE json_build_object('id', p.id, 'slug', p.slug, 'title', p.title) END AS parent,
       coalesce(a.aliases, '[]'::json) AS aliases,
       s.first_seen_at, s.last_seen_at, s.sighting_count,
       r.rebuttal_count
  FROM narratives n
  LEFT JOIN narratives p ON p.id = n.parent_id
  LEFT JOIN LATERAL (
        SELECT json_agg(json_build_object('text', al.text, 'language', al.language)
                        ORDER BY al.position) AS aliases
          FROM narrative_aliases al
         WHERE al.narrative_id = n.id) a ON true
  LEFT JOIN LATERAL (
        SELECT CASE WHEN d.seen_stale
                    THEN (SELECT min(si.observed_at) FROM sightings si
                           WHERE si.narrative_id = n.id AND si.status <> 'false_positive')
                    ELSE least(t.first_seen_at, d.first_seen_at) END AS first_seen_at,
               CASE WHEN d.seen_stale
                    THEN (SELECT max(si.observed_at) FROM sightings si
                           WHERE si.narrative_id = n.id AND si.status <> 'false_positive')
                    ELSE greatest(t.last_seen_at, d.last_seen_at) END AS last_seen_at,
               coalesce(t.sightings, 0) + coalesce(d.delta, 0) AS sighting_count
          FROM (SELECT sum(dd.delta) AS delta, min(dd.first_seen_at) AS first_seen_at,
                       max(dd.last_seen_at) AS last_seen_at, bool_or(dd.seen_stale) AS seen_stale
                  FROM narrative_sighting_deltas dd
                 WHERE dd.narrative_id = n.id) d
          LEFT JOIN narrative_sighting_totals t ON t.narrative_id = n.id) s ON true
  LEFT JOIN LATERAL (
        SELECT count(*) AS rebuttal_count
          FROM rebuttal_narratives rn
         WHERE rn.narrative_id = n.id) r ON true
"""

# Columns a PATCH may set directly; anything else in `changes` is handled by name below.
_UPDATABLE = ("slug", "title", "summary", "keywords", "tags", "status", "parent_id")


def get(conn: Connection, ref: str | uuid.UUID) -> dict[str, Any] | None:
    """One narrative by id or slug, archived ones included."""
    return conn.execute(_SELECT + " WHERE n.id = %(id)s OR n.slug = %(slug)s", _ref(ref)).fetchone()


# A record written against a narrative holds it in SHARE mode until commit. An archive (an
# UPDATE of status) then waits for the write to commit, and a write that starts after an archive
# sees the archived status: nothing is ever attached to a narrative archived under it. (The
# foreign key's own KEY SHARE lock would not do: it does not conflict with a status update.)
_FOR_WRITE = " FOR SHARE OF n"


def resolve(
    conn: Connection, ref: str | uuid.UUID, *, for_write: bool = False
) -> dict[str, Any] | None:
    """The id, slug and status of a narrative by id or slug, without the derived figures;
    `for_write` holds it against an archive until the transaction ends."""
    query = "SELECT id, slug, status FROM narratives n WHERE id = %(id)s OR slug = %(slug)s"
    return conn.execute(query + (_FOR_WRITE if for_write else ""), _ref(ref)).fetchone()


def resolve_many(conn: Connection, refs: list[str]) -> dict[str, dict[str, Any]]:
    """{ref: {id, slug, status}} for the refs (ids or slugs) that name a narrative, held
    against an archive until the transaction ends (the caller is about to write)."""
    params = [_ref(ref) for ref in refs]
    rows = conn.execute(
        """
        SELECT r.ref, n.id, n.slug, n.status
          FROM unnest(%(refs)b::text[], %(ids)b::uuid[], %(slugs)b::text[]) AS r (ref, id, slug)
          JOIN narratives n ON n.id = r.id OR n.slug = r.slug
           FOR SHARE OF n
        """,
        {
            "refs": refs,
            "ids": [p["id"] for p in params],
            "slugs": [p["slug"] for p in params],
        },
    ).fetchall()
    return {row.pop("ref"): row for row in rows}


LIST_ORDER = Keyset("n.created_at", "n.id")


def list_page(
    conn: Connection,
    page: Page,
    *,
    q: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    updated_since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Newest first; up to limit + 1 rows (the extra one says another page exists)."""
    where = [
        sql.SQL("n.status = %(status)s" if status else "n.status <> 'archived'"),
    ]
    if tag:
        where.append(sql.SQL("n.tags @> ARRAY[%(tag)s]::text[]"))
    if updated_since:
        where.append(sql.SQL("n.updated_at >= %(updated_since)s"))
    if q:
        where.append(
            sql.SQL(
                """(n.title ILIKE %(like)s OR n.slug ILIKE %(like)s OR n.summary ILIKE %(like)s
                    OR EXISTS (SELECT 1 FROM narrative_aliases x
                                WHERE x.narrative_id = n.id AND x.text ILIKE %(like)s)
                    OR EXISTS (SELECT 1 FROM unnest(n.keywords) k WHERE k ILIKE %(like)s))"""
            )
        )
    query, params = pages.query(sql.SQL(_SELECT), where, LIST_ORDER, page)
    params.update(
        status=status,
        tag=tag,
        updated_since=updated_since,
        like=_like(q) if q else None,
    )
    return conn.execute(query, params).fetchall()


def insert(conn: Connection, fields: dict[str, Any], *, by: str | None) -> uuid.UUID:
    row = conn.execute(
        """
        INSERT INTO narratives (slug, title, summary, keywords, tags, status, parent_id,
                                created_by, updated_by)
        VALUES (%(slug)s, %(title)s, %(summary)s, %(keywords)s, %(tags)s, %(status)s,
                %(parent_id)s, %(by)s, %(by)s)
        RETURNING id
        """,
        {**fields, "by": by},
    ).fetchone()
    replace_aliases(conn, row["id"], fields.get("aliases") or [])
    phrases.lemmatize_pending(conn)
    return row["id"]


def update(conn: Connection, id_: uuid.UUID, changes: dict[str, Any], *, by: str | None) -> None:
    """Set the given columns (from a fixed list) and replace aliases if they are given."""
    update_columns(conn, "narratives", _UPDATABLE, id_, changes, by=by)
    if "aliases" in changes:
        replace_aliases(conn, id_, changes["aliases"])
    phrases.lemmatize_pending(conn)


def replace_aliases(conn: Connection, id_: uuid.UUID, aliases: list[dict[str, str]]) -> None:
    conn.execute("DELETE FROM narrative_aliases WHERE narrative_id = %(id)s", {"id": id_})
    if not aliases:
        return
    conn.execute(
        """
        INSERT INTO narrative_aliases (narrative_id, position, text, language)
        SELECT %(id)s, a.position, a.text, a.language
          FROM unnest(%(texts)s::text[], %(languages)s::text[])
               WITH ORDINALITY AS a (text, language, position)
        """,
        {
            "id": id_,
            "texts": [alias["text"] for alias in aliases],
            "languages": [alias["language"] for alias in aliases],
        },
    )


# Names this project's narrative-hierarchy lock in pg_advisory_xact_lock's key space.
_HIERARCHY_LOCK = 0x6E61727268696572  # "narrhier"


def creates_cycle(conn: Connection, narrative: uuid.UUID, parent: uuid.UUID) -> bool:
    """True if making `parent` the parent of `narrative` would close a loop, that is if `parent`
    is `narrative` itself or one of its descendants.

    Two editors re-parenting A under B and B under A at once would each pass a check made on
    their own snapshot; so the check first takes a transaction-wide lock that every hierarchy
    change holds until it commits. Under READ COMMITTED the query after the lock sees whatever
    the previous holder committed, so the second of two such changes is refused."""
    conn.execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": _HIERARCHY_LOCK})
    row = conn.execute(
        """
        WITH RECURSIVE ancestors (id, parent_id) AS (
            SELECT id, parent_id FROM narratives WHERE id = %(parent)s
            UNION
            SELECT n.id, n.parent_id FROM narratives n JOIN ancestors a ON n.id = a.parent_id
        )
        SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = %(narrative)s) AS cycle
        """,
        {"narrative": narrative, "parent": parent},
    ).fetchone()
    return row["cycle"]


def archive(conn: Connection, id_: uuid.UUID, *, by: str | None) -> None:
    conn.execute(
        """
        UPDATE narratives
           SET status = 'archived', updated_at = clock_timestamp(), updated_by = %(by)s
         WHERE id = %(id)s AND status <> 'archived'
        """,
        {"id": id_, "by": by},
    )


def count(conn: Connection) -> int:
    return conn.execute("SELECT count(*) AS n FROM narratives").fetchone()["n"]


def _ref(ref: str | uuid.UUID) -> dict[str, Any]:
    """Lookup parameters for a ref: a UUID matches ids, anything else slugs."""
    if isinstance(ref, uuid.UUID):
        return {"id": ref, "slug": None}
    try:
        return {"id": uuid.UUID(ref), "slug": None}
    except ValueError:
        # PostgreSQL text cannot hold NUL; such a ref names nothing, so it matches nothing.
        return {"id": None, "slug": None if "\x00" in ref else ref.lower()}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
