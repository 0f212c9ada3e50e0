"""SQL for the audit trail (written by triggers, see migrations/0002); read-only here."""

from datetime import datetime
from typing import Any

from psycopg import Connection, sql

_FILTERS = {
    "record": "record_id = %(record)s",
    "key": "key_name = %(key)s",
    "resource": "resource = %(resource)s",
    "action": "action = %(action)s",
    "since": "at >= %(since)s",
    "without_resource": "resource <> %(without_resource)s",
}


def list_page(
    conn: Connection, *, limit: int, after: tuple[datetime, int] | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """Newest first; up to limit + 1 rows."""
    given = {name: value for name, value in filters.items() if value is not None}
    where = [sql.SQL(_FILTERS[name]) for name in given]
    if after:
        where.append(sql.SQL("id < %(after_id)s"))  # ids are monotonic: the primary key pages
    query = sql.SQL(
        """
        SELECT id, at, key_name, action, resource, record_id, before, after
          FROM audit_log
         WHERE {where}
         ORDER BY id DESC
         LIMIT %(n)s
        """
    ).format(where=sql.SQL(" AND ").join(where or [sql.SQL("true")]))
    params = {
        **given,
        "after_at": after[0] if after else None,
        "after_id": after[1] if after else None,
        "n": limit + 1,
    }
    return conn.execute(query, params).fetchall()
