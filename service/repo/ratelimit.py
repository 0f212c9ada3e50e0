"""SQL for per-key fixed-window request counters. Functions never commit (callers use an
autocommit connection: a count must not wait for anything)."""

from typing import Any

from psycopg import Connection


def add(conn: Connection, counts: dict[str, int]) -> list[dict[str, Any]]:
    """Add requests to each key's current minute; returns [{key_name, hits, reset_in}] with the
    totals across every process (reset_in: seconds left in the minute)."""
    return conn.execute(
        """
        INSERT INTO rate_limit_windows AS w (key_name, window_start, hits)
        SELECT t.key_name, date_trunc('minute', now()), t.hits
          FROM unnest(%(keys)s::text[], %(hits)s::int[]) AS t (key_name, hits)
         ORDER BY t.key_name
        ON CONFLICT (key_name, window_start) DO UPDATE SET hits = w.hits + EXCLUDED.hits
        RETURNING w.key_name, w.hits,
                  ceil(extract(epoch FROM w.window_start + interval '1 minute' - now()))::int
                      AS reset_in
        """,
        {"keys": list(counts), "hits": list(counts.values())},
    ).fetchall()


def purge(conn: Connection) -> int:
    """Forget windows that ended more than a minute ago."""
    return conn.execute(
        "DELETE FROM rate_limit_windows WHERE window_start < now() - interval '2 minutes'"
    ).rowcount
