"""SQL for stored first responses to POSTs carrying an Idempotency-Key. Never commits."""

from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb


def claim(
    conn: Connection, *, key_name: str, key: str, method: str, path: str, request_hash: str
) -> dict[str, Any] | None:
    """Claim the key for this request. Returns None when claimed (go ahead and process), else
    the earlier request's record. A concurrent claim of the same key waits here until the
    first request's transaction ends, then sees its stored response."""
    claimed = conn.execute(
        """
        INSERT INTO idempotency_keys (key_name, idempotency_key, method, path, request_hash)
        VALUES (%(key_name)s, %(key)s, %(method)s, %(path)s, %(request_hash)s)
        ON CONFLICT DO NOTHING
        RETURNING key_name
        """,
        {
            "key_name": key_name,
            "key": key,
            "method": method,
            "path": path,
            "request_hash": request_hash,
        },
    ).fetchone()
    if claimed:
        return None
    return conn.execute(
        """
        SELECT method, path, request_hash, status, headers, body
          FROM idempotency_keys
         WHERE key_name = %(key_name)s AND idempotency_key = %(key)s
        """,
        {"key_name": key_name, "key": key},
    ).fetchone()


def store(
    conn: Connection,
    *,
    key_name: str,
    key: str,
    status: int,
    headers: dict[str, str],
    body: str,
    request_hash: str | None = None,
) -> None:
    """Record the response; `request_hash` for a request hashed only once it was read."""
    conn.execute(
        """
        UPDATE idempotency_keys SET status = %(status)s, headers = %(headers)s, body = %(body)s,
               request_hash = coalesce(%(request_hash)s::text, request_hash)
         WHERE key_name = %(key_name)s AND idempotency_key = %(key)s
        """,
        {
            "key_name": key_name,
            "key": key,
            "status": status,
            "headers": Jsonb(headers),
            "body": body,
            "request_hash": request_hash,
        },
    )


def purge(conn: Connection, *, older_than_hours: int) -> int:
    return conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => %s)",
        (older_than_hours,),
    ).rowcount
