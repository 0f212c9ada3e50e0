"""One keyset page, for every list: the page's size and where it continues, and the SQL that
walks an index from there. Lists are newest first, so a page continues *below* the last row
of the previous one; keyset (not offset) pages stay stable while monitors insert."""

from dataclasses import dataclass
from typing import Any

from psycopg import sql


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
