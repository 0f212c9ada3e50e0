"""SQL for sightings. Functions take a connection first and never commit."""

import uuid
from datetime import datetime
from typing import Any

from psycopg import Connection, sql

from service import urls

_SELECT = """
SELECT s.id, s.observed_at, s.url, s.url_normalized, s.quote, s.language, s.country,
       s.external_id, s.confidence, s.status, s.reported_by, s.updated_by, s.created_at,
       s.updated_at,
       json_build_object('id', n.id, 'slug', n.slug, 'title', n.title) AS narrative,
       json_build_object('name', s.source_name, 'kind', s.source_kind) AS source,
       CASE WHEN s.actor_name IS NULL THEN NULL
            ELSE json_build_object('name', s.actor_name, 'role', s.actor_role) END AS actor
  FROM sightings s
  JOIN narratives n ON n.id = s.narrative_id
"""

# Flat column -> value, as stored; PATCH may set any of these.
COLUMNS = (
    "narrative_id",
    "observed_at",
    "url",
    "url_normalized",
    "source_name",
    "source_kind",
    "actor_name",
    "actor_role",
    "quote",
    "language",
    "country",
    "external_id",
    "confidence",
    "status",
)


def get(conn: Connection, id_: uuid.UUID) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE s.id = %(id)s", {"id": id_}).fetchone()


def insert(conn: Connection, data: dict[str, Any], *, by: str) -> tuple[uuid.UUID, bool]:
    """Store one sighting (the API's shape, with `narrative_id`) unless it exists; returns
    (id, created).

    Identity is (narrative, normalised URL) or (reporting key, external_id). ON CONFLICT makes a
    concurrent retry wait for the first insert and then find it, so retries never duplicate.
    """
    params = {**_columns(data), "by": by}
    created = conn.execute(
        """
        INSERT INTO sightings (narrative_id, observed_at, url, url_normalized, source_name,
                               source_kind, actor_name, actor_role, quote, language, country,
                               external_id, confidence, reported_by)
        VALUES (%(narrative_id)s, %(observed_at)s, %(url)s, %(url_normalized)s, %(source_name)s,
                %(source_kind)s, %(actor_name)s, %(actor_role)s, %(quote)s, %(language)s,
                %(country)s, %(external_id)s, %(confidence)s, %(by)s)
        ON CONFLICT DO NOTHING
        RETURNING id
        """,
        params,
    ).fetchone()
    if created:
        return created["id"], True
    existing = conn.execute(
        """
        SELECT id
          FROM sightings
         WHERE (narrative_id = %(narrative_id)s AND url_normalized = %(url_normalized)s)
            OR (reported_by = %(by)s AND external_id = %(external_id)s)
         LIMIT 1
        """,
        params,
    ).fetchone()
    return existing["id"], False


def update(conn: Connection, id_: uuid.UUID, changes: dict[str, Any], *, by: str | None) -> None:
    """Apply a PATCH (the API's shape, `narrative_id` for a move); only given keys change."""
    changes = _columns(changes)
    columns = [name for name in COLUMNS if name in changes]
    assignments = [
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in columns
    ]
    assignments += [sql.SQL("updated_at = clock_timestamp()"), sql.SQL("updated_by = %(by)s")]
    conn.execute(
        sql.SQL("UPDATE sightings SET {} WHERE id = %(id)s").format(
            sql.SQL(", ").join(assignments)
        ),
        {**{name: changes[name] for name in columns}, "id": id_, "by": by},
    )


# Optional filters: parameter name -> condition. Only these fragments ever reach the SQL.
_FILTERS = {
    "narrative_id": "s.narrative_id = %(narrative_id)s",
    "source": "lower(s.source_name) = lower(%(source)s)",
    "actor": "lower(s.actor_name) = lower(%(actor)s)",
    "language": "lower(s.language) = lower(%(language)s)",
    "country": "s.country = %(country)s",
    "status": "s.status = %(status)s",
    "since": "s.observed_at >= %(since)s",
    "until": "s.observed_at < %(until)s",
    "url_normalized": "s.url_normalized = %(url_normalized)s",
}


def list_page(
    conn: Connection,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Newest observed first; up to limit + 1 rows (the extra one says another page exists)."""
    given = {name: value for name, value in filters.items() if value is not None}
    unknown = set(given) - set(_FILTERS)
    if unknown:
        raise ValueError(f"unknown sighting filters: {sorted(unknown)}")
    where = [sql.SQL(_FILTERS[name]) for name in given]
    if after:
        where.append(sql.SQL("(s.observed_at, s.id) < (%(after_at)s, %(after_id)s)"))
    query = sql.SQL("{select} WHERE {where} ORDER BY s.observed_at DESC, s.id DESC LIMIT %(n)s")
    query = query.format(
        select=sql.SQL(_SELECT), where=sql.SQL(" AND ").join(where or [sql.SQL("true")])
    )
    params = {
        **given,
        "after_at": after[0] if after else None,
        "after_id": after[1] if after else None,
        "n": limit + 1,
    }
    return conn.execute(query, params).fetchall()


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """The API's shape (nested source and actor, raw URL) as columns, for the keys present."""
    row = {key: value for key, value in data.items() if key in COLUMNS}
    if "url" in data:
        row["url_normalized"] = urls.normalize(data["url"]) if data["url"] else None
    if "source" in data:
        row["source_name"] = data["source"]["name"]
        row["source_kind"] = data["source"]["kind"]
    if "actor" in data:
        actor = data["actor"] or {}
        row["actor_name"] = actor.get("name")
        row["actor_role"] = actor.get("role")
    return row
