"""SQL for webhook subscriptions, their outbox (written by the trigger in migrations/0012) and
the log of delivery attempts. Functions take a connection first and never commit."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from psycopg import Connection

from service.repo.updates import update_columns

_SUBSCRIPTION = """
SELECT w.id, w.url, w.event_types, w.enabled, w.disabled_reason, w.consecutive_failures,
       w.failing_since, w.previous_secret_expires_at, w.created_by, w.updated_by, w.created_at,
       w.updated_at,
       CASE WHEN n.id IS NULL THEN NULL
            ELSE json_build_object('id', n.id, 'slug', n.slug, 'title', n.title) END AS narrative
  FROM webhook_subscriptions w
  LEFT JOIN narratives n ON n.id = w.narrative_id
"""

_UPDATABLE = ("url", "event_types", "narrative_id", "enabled")


def get(conn: Connection, id_: uuid.UUID) -> dict[str, Any] | None:
    return conn.execute(_SUBSCRIPTION + " WHERE w.id = %(id)s", {"id": id_}).fetchone()


def list_all(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute(_SUBSCRIPTION + " ORDER BY w.created_at, w.id").fetchall()


def insert(conn: Connection, fields: dict[str, Any], *, secret: str, by: str | None) -> uuid.UUID:
    return conn.execute(
        """
        INSERT INTO webhook_subscriptions (url, event_types, narrative_id, enabled, secret,
                                           created_by, updated_by)
        VALUES (%(url)s, %(event_types)s, %(narrative_id)s, %(enabled)s, %(secret)s,
                %(by)s, %(by)s)
        RETURNING id
        """,
        {**fields, "secret": secret, "by": by},
    ).fetchone()["id"]


def update(conn: Connection, id_: uuid.UUID, changes: dict[str, Any], *, by: str | None) -> None:
    update_columns(conn, "webhook_subscriptions", _UPDATABLE, id_, changes, by=by)
    if changes.get("enabled"):
        # Switched back on: its failures so far are forgiven, and so is the reason.
        conn.execute(
            """
            UPDATE webhook_subscriptions
               SET disabled_reason = NULL, consecutive_failures = 0, failing_since = NULL
             WHERE id = %(id)s
            """,
            {"id": id_},
        )


def delete(conn: Connection, id_: uuid.UUID) -> bool:
    query = "DELETE FROM webhook_subscriptions WHERE id = %(id)s"
    return conn.execute(query, {"id": id_}).rowcount > 0


def rotate(conn: Connection, id_: uuid.UUID, *, secret: str, overlap_seconds: int) -> bool:
    """The new secret signs from now on; the current one keeps signing beside it for the
    overlap, so receivers can switch without losing a delivery."""
    return (
        conn.execute(
            """
            UPDATE webhook_subscriptions
               SET previous_secret = secret,
                   previous_secret_expires_at
                       = clock_timestamp() + make_interval(secs => %(overlap)s),
                   secret = %(secret)s, updated_at = clock_timestamp()
             WHERE id = %(id)s
            """,
            {"id": id_, "secret": secret, "overlap": overlap_seconds},
        ).rowcount
        > 0
    )


def attempts_page(
    conn: Connection,
    subscription_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[dict[str, Any]]:
    """A subscription's delivery attempts, newest first; up to limit + 1 rows."""
    return conn.execute(
        """
        SELECT a.id, a.message_id, m.event_type, m.record_id, a.attempted_at, a.status_code,
               a.latency_ms, a.error, a.outcome, m.status AS message_status, m.attempts
          FROM webhook_attempts a
          JOIN webhook_messages m ON m.id = a.message_id
         WHERE a.subscription_id = %(sub)s
           AND (%(after_at)s::timestamptz IS NULL
                OR (a.attempted_at, a.id) < (%(after_at)s, %(after_id)s))
         ORDER BY a.attempted_at DESC, a.id DESC
         LIMIT %(n)s
        """,
        {
            "sub": subscription_id,
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "n": limit + 1,
        },
    ).fetchall()


def redeliver(conn: Connection, subscription_id: uuid.UUID, attempt_id: uuid.UUID) -> dict | None:
    """Queue the message of that attempt again, due now, with a fresh round of retries; it
    keeps its id (webhook-id) and body, so a receiver that saw it can tell."""
    return conn.execute(
        """
        UPDATE webhook_messages m
           SET status = 'pending', attempts = 0, next_attempt_at = clock_timestamp(),
               lease_token = NULL, lease_until = NULL
          FROM webhook_attempts a
         WHERE a.id = %(attempt)s AND a.subscription_id = %(sub)s AND m.id = a.message_id
        RETURNING m.id, m.event_type, m.status, m.next_attempt_at
        """,
        {"attempt": attempt_id, "sub": subscription_id},
    ).fetchone()


# The worker's side.


def claim(conn: Connection, *, lease_seconds: float) -> dict[str, Any] | None:
    """Lease one due message of an enabled subscription. SKIP LOCKED lets workers claim side by
    side; the lease (not a held lock) covers the HTTP call, so no transaction stays open
    while a receiver thinks, and a worker that dies mid-attempt frees it when it runs out."""
    return conn.execute(
        """
        UPDATE webhook_messages m
           SET lease_token = gen_random_uuid(),
               lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
         WHERE m.id = (
               SELECT d.id
                 FROM webhook_messages d
                 JOIN webhook_subscriptions s ON s.id = d.subscription_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
                  AND (d.lease_until IS NULL OR d.lease_until < clock_timestamp())
                  AND s.enabled
                ORDER BY d.next_attempt_at
                LIMIT 1
                  FOR UPDATE OF d SKIP LOCKED)
        RETURNING m.id, m.subscription_id, m.event_type, m.record_id, m.narrative_id,
                  m.occurred_at, m.body, m.attempts, m.lease_token
        """,
        {"lease": lease_seconds},
    ).fetchone()


def signing(conn: Connection, subscription_id: uuid.UUID) -> dict[str, Any] | None:
    """The URL and the secrets to sign with now: the current one, and the previous one while
    its overlap lasts."""
    return conn.execute(
        """
        SELECT url,
               array_remove(ARRAY[secret,
                   CASE WHEN previous_secret_expires_at > clock_timestamp()
                        THEN previous_secret END], NULL) AS secrets
          FROM webhook_subscriptions WHERE id = %(id)s
        """,
        {"id": subscription_id},
    ).fetchone()


def freeze_body(conn: Connection, message_id: uuid.UUID, body: str) -> str:
    """Store the body the first attempt built; return the stored one (a racing attempt's)."""
    return conn.execute(
        """
        UPDATE webhook_messages SET body = coalesce(body, %(body)s) WHERE id = %(id)s
        RETURNING body
        """,
        {"id": message_id, "body": body},
    ).fetchone()["body"]


def record_attempt(
    conn: Connection,
    message: dict[str, Any],
    *,
    attempted_at: datetime,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
    outcome: str,
    next_attempt_at: datetime | None,
) -> None:
    conn.execute(
        """
        INSERT INTO webhook_attempts (message_id, subscription_id, attempted_at, status_code,
                                      latency_ms, error, outcome)
        VALUES (%(id)s, %(sub)s, %(at)s, %(code)s, %(ms)s, %(error)s, %(outcome)s)
        """,
        {
            "id": message["id"],
            "sub": message["subscription_id"],
            "at": attempted_at,
            "code": status_code,
            "ms": latency_ms,
            "error": error,
            "outcome": outcome,
        },
    )
    conn.execute(
        """
        UPDATE webhook_messages
           SET attempts = attempts + 1,
               status = CASE %(outcome)s::text WHEN 'retry' THEN 'pending'
                        ELSE %(outcome)s::text END,
               next_attempt_at = coalesce(%(next)s::timestamptz, next_attempt_at),
               delivered_at = CASE %(outcome)s::text WHEN 'delivered' THEN %(at)s::timestamptz END,
               lease_token = NULL, lease_until = NULL
         WHERE id = %(id)s AND lease_token = %(token)s
        """,
        {
            "id": message["id"],
            "token": message["lease_token"],
            "outcome": outcome,
            "next": next_attempt_at,
            "at": attempted_at,
        },
    )


def record_health(
    conn: Connection,
    subscription_id: uuid.UUID,
    *,
    ok: bool,
    at: datetime,
    max_failures: int,
    failing_hours: float,
    gone: bool = False,
    error: str | None = None,
) -> dict[str, Any] | None:
    """Count a success (which resets the failure streak) or a failure; disable a subscription
    that failed max_failures times in a row or has failed for failing_hours, or whose
    receiver said 410 Gone. Returns the row when this call disabled it."""
    if ok:
        conn.execute(
            """
            UPDATE webhook_subscriptions SET consecutive_failures = 0, failing_since = NULL
             WHERE id = %(id)s AND consecutive_failures > 0
            """,
            {"id": subscription_id},
        )
        return None
    counted = conn.execute(
        """
        UPDATE webhook_subscriptions
           SET consecutive_failures = consecutive_failures + 1,
               failing_since = coalesce(failing_since, %(at)s::timestamptz)
         WHERE id = %(id)s
        RETURNING consecutive_failures, failing_since
        """,
        {"id": subscription_id, "at": at},
    ).fetchone()
    if counted is None:
        return None
    streak = counted["consecutive_failures"]
    if gone:
        reason = "The receiver answered 410 Gone."
    elif streak >= max_failures or at - counted["failing_since"] >= timedelta(hours=failing_hours):
        since = counted["failing_since"].strftime("%Y-%m-%dT%H:%M:%SZ")
        reason = (
            f"Disabled after {streak} failed deliveries in a row since {since}; "
            f"the last: {error or 'unknown'}."
        )
    else:
        return None
    # (A second statement: an UPDATE cannot change a row a WITH clause of it already changed.)
    return conn.execute(
        """
        UPDATE webhook_subscriptions
           SET enabled = false, disabled_reason = %(reason)s, updated_at = clock_timestamp()
         WHERE id = %(id)s AND enabled
        RETURNING id, disabled_reason
        """,
        {"id": subscription_id, "reason": reason},
    ).fetchone()


def queue_stats(conn: Connection) -> dict[str, Any]:
    return conn.execute(
        """
        SELECT count(*) AS depth,
               coalesce(extract(epoch FROM clock_timestamp() - min(m.created_at)), 0)
                   AS oldest_seconds
          FROM webhook_messages m
         WHERE m.status = 'pending'
        """
    ).fetchone()
