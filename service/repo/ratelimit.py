"""SQL for per-key fixed-window request counters. Functions never commit (callers use an
autocommit connection: a count must not wait for anything)."""

from typing import Any

from psycopg import Connection


def hit(conn: Connection, key_name: str) -> dict[str, Any]:
    """Count one request in the key's current minute; returns {hits, reset_in} (seconds)."""
    return conn.execute(
        """
        INSERT INTO rate_limit_windows AS w (key_name, window_start, hits)
        VALUES (%(key)s, date_trunc('minute', now()), 1)
        ON CONFLICT (key_name, window_start) DO UPDATE SET hits = w.hits + 1
        RETURNING w.hits,
                  ceil(extract(epoch FROM w.window_start + interval '1 minute' - now()))::int
                      AS reset_in
        """,
        {"key": key_name},
    ).fetchone()


def purge(conn: Connection) -> int:
    """Forget windows that ended more than a minute ago."""
    return conn.execute(
        "DELETE FROM rate_limit_windows WHERE window_start < now() - interval '2 minutes'"
    ).rowcount
