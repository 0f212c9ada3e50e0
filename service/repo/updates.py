"""The one piece of dynamic SQL the repo modules share: a PATCH as an UPDATE of whitelisted
columns, stamping who changed the row and when."""

import uuid
from typing import Any

from psycopg import Connection, sql


def update_columns(
    conn: Connection,
    table: str,
    allowed: tuple[str, ...],
    id_: uuid.UUID,
    changes: dict[str, Any],
    *,
    by: str | None,
) -> None:
    """UPDATE `table` SET the keys of `changes` that are in `allowed` (and nothing else; names
    come from that fixed tuple, never from input), updated_at and updated_by."""
    columns = [name for name in allowed if name in changes]
    assignments = [
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in columns
    ]
    assignments += [sql.SQL("updated_at = clock_timestamp()"), sql.SQL("updated_by = %(by)s")]
    conn.execute(
        sql.SQL("UPDATE {} SET {} WHERE id = %(id)s").format(
            sql.Identifier(table), sql.SQL(", ").join(assignments)
        ),
        {**{name: changes[name] for name in columns}, "id": id_, "by": by},
    )


# Tables whose rows a conditional write locks (names from this fixed set only).
_LOCKABLE = frozenset({"narratives", "sightings", "rebuttals"})


def lock_row(conn: Connection, table: str, id_: uuid.UUID) -> bool:
    """Lock one row FOR UPDATE until the transaction ends; False if it does not exist."""
    if table not in _LOCKABLE:
        raise ValueError(f"not a lockable table: {table}")
    query = sql.SQL("SELECT 1 FROM {} WHERE id = %(id)s FOR UPDATE").format(sql.Identifier(table))
    return conn.execute(query, {"id": id_}).fetchone() is not None
