"""One keyset page, for every list: the page's size and where it continues, and the SQL that
walks an index from there. Lists are newest first, so a page continues *below* the last row
of the previous one; keyset (not offset) pages stay stable while monitors insert."""

from dataclasses import dataclass
from typing import Any

import orjson
from psycopg import Connection, sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader


@dataclass(frozen=True)
class Page:
    """`limit` rows wanted; `after` is the (sort value, id) of the previous page's last row, or
    None for the first page."""

    limit: int
    after: tuple[Any, Any] | None = None


@dataclass(frozen=True)
class Keyset:
    """The columns a list is ordered by, newest first: a sort column (None when the id alone
    orders, as the audit trail's monotonic ids do) and the id that breaks ties."""

    at: str | None
    id: str


def query(
    select: sql.Composable, conditions: list[sql.Composable], keyset: Keyset, page: Page
) -> tuple[sql.Composed, dict[str, Any]]:
    """`select` WHERE the conditions, below `page.after`, newest first, limit + 1 rows (the
    extra row tells the caller another page exists). Returns the query and the page's
    parameters (after_at, after_id, n) to merge with the caller's."""
    where = list(conditions)
    if page.after is not None:
        if keyset.at:
            below = f"({keyset.at}, {keyset.id}) < (%(after_at)s, %(after_id)s)"
        else:
            below = f"{keyset.id} < %(after_id)s"
        where.append(sql.SQL(below))  # type: ignore[arg-type] - column names from code only
    order = f"{keyset.at} DESC, {keyset.id} DESC" if keyset.at else f"{keyset.id} DESC"
    composed = sql.SQL("{select} WHERE {where} ORDER BY {order} LIMIT %(n)s").format(
        select=select,
        where=sql.SQL(" AND ").join(where or [sql.SQL("true")]),
        order=sql.SQL(order),  # type: ignore[arg-type]
    )
    params = {
        "after_at": page.after[0] if page.after else None,
        "after_id": page.after[1] if page.after else None,
        "n": page.limit + 1,
    }
    return composed, params


class _AsWritten(Loader):
    """A json value as PostgreSQL wrote it, kept as bytes that orjson writes out verbatim (a
    Fragment): the nested objects of a page are then neither parsed nor serialised again in
    Python. Only for statements that build them with `to_json`, whose output is compact, byte
    for byte what orjson would write (json_build_object's is not: it spaces its colons)."""

    def load(self, data: Buffer) -> orjson.Fragment:
        return orjson.Fragment(bytes(data))


def fetch(
    conn: Connection, query: sql.Composable, params: dict[str, Any], *, json_as_written: bool
) -> list[dict[str, Any]]:
    """The rows of a page. With `json_as_written`, for a page written straight out
    (service.web.jsonio.rows_response), its json columns stay as PostgreSQL wrote them; the
    loader is the cursor's own, so the pooled connection's other statements still get dicts."""
    with conn.cursor() as cursor:
        if json_as_written:
            cursor.adapters.register_loader("json", _AsWritten)
        return cursor.execute(query, params).fetchall()
