"""SQL for the audit trail (written by triggers, see migrations/0002); read-only here."""

from typing import Any

from psycopg import Connection, sql

from service.repo import pages
from service.repo.pages import Keyset, Page

_FILTERS = {
    "record": "record_id = %(record)s",
    "key": "key_name = %(key)s",
    "resource": "resource = %(resource)s",
    "action": "action = %(action)s",
    "since": "at >= %(since)s",
    "without_resource": "resource <> %(without_resource)s",
}


# Ids are monotonic, so the primary key alone orders (and pages) the trail.
LIST_ORDER = Keyset(None, "id")
_SELECT = "SELECT id, at, key_name, action, resource, record_id, before, after FROM audit_log"


def list_page(conn: Connection, page: Page, **filters: Any) -> list[dict[str, Any]]:
    """Newest first; up to limit + 1 rows."""
    given = {name: value for name, value in filters.items() if value is not None}
    where = [sql.SQL(_FILTERS[name]) for name in given]  # type: ignore[arg-type]
    query, params = pages.query(sql.SQL(_SELECT), where, LIST_ORDER, page)
    return conn.execute(query, {**given, **params}).fetchall()
