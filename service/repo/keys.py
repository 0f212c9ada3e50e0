"""SQL for API keys. Only hashes are stored; functions take a connection first and never commit."""

import uuid
from typing import Any

from psycopg import Connection

_COLUMNS = "id, name, role, prefix, created_by, created_at, last_used_at, revoked_at"


def insert(
    conn: Connection, *, name: str, role: str, prefix: str, key_hash: str, by: str | None
) -> dict[str, Any]:
    return conn.execute(
        f"""
        INSERT INTO api_keys (name, role, prefix, key_hash, created_by)
        VALUES (%(name)s, %(role)s, %(prefix)s, %(key_hash)s, %(by)s)
        RETURNING {_COLUMNS}
        """,  # noqa: S608 - a constant column list
        {"name": name, "role": role, "prefix": prefix, "key_hash": key_hash, "by": by},
    ).fetchone()


def authenticate(conn: Connection, key_hash: str) -> dict[str, Any] | None:
    """The active key with this hash, or None if unknown or revoked. Its last use is stamped
    at most once a minute, so busy keys do not turn every look-up into a row update."""
    return conn.execute(
        """
        WITH found AS (
            SELECT id, name, role, last_used_at
              FROM api_keys
             WHERE key_hash = %(key_hash)s AND revoked_at IS NULL
        ), stamped AS (
            UPDATE api_keys k SET last_used_at = clock_timestamp()
              FROM found f
             WHERE k.id = f.id
               AND (f.last_used_at IS NULL OR f.last_used_at < now() - interval '1 minute')
        )
        SELECT id, name, role FROM found
        """,
        {"key_hash": key_hash},
    ).fetchone()


def get(conn: Connection, ref: str | uuid.UUID) -> dict[str, Any] | None:
    """A key by id or by name."""
    key_id = _as_uuid(ref)
    return conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys WHERE id = %(id)s OR name = %(name)s",  # noqa: S608
        {"id": key_id, "name": None if key_id else str(ref)},
    ).fetchone()


def list_all(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id"  # noqa: S608
    ).fetchall()


def revoke(conn: Connection, key_id: uuid.UUID) -> dict[str, Any] | None:
    """Revoke (idempotently) and return the key; its name stays reserved for provenance."""
    return conn.execute(
        f"""
        UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp())
         WHERE id = %(id)s
        RETURNING {_COLUMNS}
        """,  # noqa: S608
        {"id": key_id},
    ).fetchone()


def count_active(conn: Connection) -> int:
    return conn.execute("SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL").fetchone()[
        "n"
    ]


def _as_uuid(ref: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(ref, uuid.UUID):
        return ref
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None
