"""SQL for rebuttals and their links to narratives. Functions take a connection first and never
commit."""

import uuid
from collections.abc import Iterable
from typing import Any

from psycopg import Connection, sql

from service.domain import urls
from service.repo import pages
from service.repo.pages import Keyset, Page
from service.repo.updates import update_columns

# Nested objects with to_json (compact, as orjson writes them): a page can pass them through
# as written (pages.fetch).
_SELECT = """
SELECT r.id, r.verdict, r.statement, r.url, r.published_at, r.language, r.reported_by,
       r.updated_by,
       r.created_at, r.updated_at,
       (SELECT to_json(o)
          FROM (SELECT r.issuer_name AS name, r.issuer_role AS role,
                       r.issuer_organization AS organization, r.issuer_country AS country,
                       r.issuer_kind AS kind) o) AS issuer,
       (SELECT coalesce(to_json(array_agg(o ORDER BY o.slug)), '[]'::json)
          FROM (SELECT n.id, n.slug, n.title
                  FROM rebuttal_narratives l JOIN narratives n ON n.id = l.narrative_id
                 WHERE l.rebuttal_id = r.id) o) AS narratives
  FROM rebuttals r
"""

COLUMNS = (
    "issuer_name",
    "issuer_role",
    "issuer_organization",
    "issuer_country",
    "issuer_kind",
    "verdict",
    "statement",
    "url",
    "url_normalized",
    "published_at",
    "language",
)


def get(conn: Connection, id_: uuid.UUID) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE r.id = %(id)s", {"id": id_}).fetchone()


def insert(
    conn: Connection, data: dict[str, Any], narrative_ids: list[uuid.UUID], *, by: str
) -> uuid.UUID:
    created = conn.execute(
        """
        INSERT INTO rebuttals (issuer_name, issuer_role, issuer_organization, issuer_country,
                               issuer_kind, verdict, statement, url, url_normalized,
                               published_at, language, reported_by)
        VALUES (%(issuer_name)s, %(issuer_role)s, %(issuer_organization)s, %(issuer_country)s,
                %(issuer_kind)s, %(verdict)s, %(statement)s, %(url)s, %(url_normalized)s,
                %(published_at)s, %(language)s, %(by)s)
        RETURNING id, published_at
        """,
        {**_columns(data), "by": by},
    ).fetchone()
    link(conn, created["id"], narrative_ids)
    return created["id"]


def link(conn: Connection, id_: uuid.UUID, narrative_ids: list[uuid.UUID]) -> None:
    """Make `narrative_ids` exactly the narratives this rebuttal answers."""
    conn.execute(
        """
        DELETE FROM rebuttal_narratives
         WHERE rebuttal_id = %(id)s AND NOT (narrative_id = ANY(%(narratives)s::uuid[]))
        """,
        {"id": id_, "narratives": narrative_ids},
    )
    conn.execute(
        """
        INSERT INTO rebuttal_narratives (rebuttal_id, narrative_id, published_at)
        SELECT r.id, n.narrative_id, r.published_at
          FROM rebuttals r, unnest(%(narratives)s::uuid[]) AS n (narrative_id)
         WHERE r.id = %(id)s
        ON CONFLICT DO NOTHING
        """,
        {"id": id_, "narratives": narrative_ids},
    )


def update(conn: Connection, id_: uuid.UUID, changes: dict[str, Any], *, by: str | None) -> None:
    """Apply a PATCH (the API's shape); only given keys change. Links are set by `link`."""
    changes = _columns(changes)
    update_columns(conn, "rebuttals", COLUMNS, id_, changes, by=by)
    if "published_at" in changes:
        conn.execute(
            """
            UPDATE rebuttal_narratives SET published_at = %(published_at)s
             WHERE rebuttal_id = %(id)s
            """,
            {"id": id_, "published_at": changes["published_at"]},
        )


def delete(conn: Connection, id_: uuid.UUID) -> bool:
    return conn.execute("DELETE FROM rebuttals WHERE id = %(id)s", {"id": id_}).rowcount > 0


_FILTERS = {
    "issuer": "lower(r.issuer_name) = lower(%(issuer)s)",
    "kind": "r.issuer_kind = %(kind)s",
    "verdict": "r.verdict = %(verdict)s",
    "language": "lower(r.language) = lower(%(language)s)",
    "since": "r.published_at >= %(since)s",
}


LIST_ORDER = Keyset("r.published_at", "r.id")
# One narrative's rebuttals walk the link table's (narrative, published_at) index instead.
NARRATIVE_ORDER = Keyset("k.published_at", "k.rebuttal_id")


def list_page(
    conn: Connection,
    page: Page,
    *,
    narrative_id: uuid.UUID | None = None,
    json_as_written: bool = False,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Newest published first; up to limit + 1 rows. With `narrative_id` the walk starts from the
    link table's (narrative, published_at) index, so one narrative's rebuttals are one range scan.
    `json_as_written`: the nested objects as PostgreSQL wrote them (pages.fetch)."""
    given = {name: value for name, value in filters.items() if value is not None}
    unknown = set(given) - set(_FILTERS)
    if unknown:
        raise ValueError(f"unknown rebuttal filters: {sorted(unknown)}")
    where = [sql.SQL(_FILTERS[name]) for name in given]  # type: ignore[arg-type]
    select = sql.SQL(_SELECT)
    order = LIST_ORDER
    if narrative_id:
        select += sql.SQL(
            " JOIN rebuttal_narratives k ON k.rebuttal_id = r.id AND k.narrative_id = %(narrative_id)s"
        )
        order = NARRATIVE_ORDER
    query, params = pages.query(select, where, order, page)
    params = {**given, **params, "narrative_id": narrative_id}
    return pages.fetch(conn, query, params, json_as_written=json_as_written)


_LATEST_FOR = sql.SQL(
    """
SELECT x.*, l.narrative_id AS for_narrative
  FROM unnest(%(ids)s::uuid[]) AS l (narrative_id)
 CROSS JOIN LATERAL ({select}
  JOIN rebuttal_narratives k ON k.rebuttal_id = r.id AND k.narrative_id = l.narrative_id
 ORDER BY k.published_at DESC, k.rebuttal_id DESC
 LIMIT %(n)s) x
"""
).format(select=sql.SQL(_SELECT))


def latest_for(
    conn: Connection, narrative_ids: list[uuid.UUID], limit: int
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The newest `limit` rebuttals of each narrative, in list_page's shape and order, in one
    statement (a match answers with several narratives' rebuttals)."""
    rows = conn.execute(_LATEST_FOR, {"ids": narrative_ids, "n": limit}) if narrative_ids else []
    return by_narrative(narrative_ids, rows)


def by_narrative(
    narrative_ids: list[uuid.UUID], rows: Iterable[dict[str, Any]]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """_LATEST_FOR's rows, each under the narrative it was read for (that column dropped)."""
    latest: dict[uuid.UUID, list[dict[str, Any]]] = {id_: [] for id_ in narrative_ids}
    for row in rows:
        latest[row.pop("for_narrative")].append(row)
    return latest


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """The API's shape (nested issuer, raw URL) as columns, for the keys present."""
    row = {key: value for key, value in data.items() if key in COLUMNS}
    if "url" in data:
        row["url_normalized"] = urls.normalize(data["url"])
    if "issuer" in data:
        for key, value in data["issuer"].items():
            row[f"issuer_{key}"] = value
    return row
