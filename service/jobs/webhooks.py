"""Webhook delivery: the worker empties the outbox the database fills (migrations/0012).

Every worker runs this job at once (it is not exclusive): each claims one due message at a
time with FOR UPDATE SKIP LOCKED and a lease, sends it, and records the attempt. A message's
body is built from the resource as it is at the first attempt and then frozen, so every retry
sends the same bytes under the same `webhook-id`. Failures that may pass (timeouts, connection
errors, 5xx, 429) are retried with exponential backoff and jitter, never sooner than a
Retry-After asks; a subscription that keeps failing is disabled with the reason.
"""

import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from psycopg import Connection

from service.config import Settings
from service.domain import sender as signing
from service.domain.sender import Sender, message_id
from service.jobs import job
from service.repo import changes, webhooks
from service.schemas.narratives import NarrativeOut
from service.schemas.rebuttals import RebuttalOut
from service.schemas.sightings import SightingOut
from service.web import jsonio

log = logging.getLogger("narratives.webhooks")

MAX_ATTEMPTS = 15  # with the default 5 s base and the 6 h cap: about a day of retries
MAX_DELAY_SECONDS = 6 * 3600
FAILING_HOURS = 24  # a subscription failing this long is disabled, however few its attempts
ROUND_SECONDS = 5.0  # a round ends after this, so SIGTERM and other jobs are not kept waiting
LEASE_MARGIN_SECONDS = 30.0

DELIVERIES = Counter(
    "narratives_webhook_deliveries_total", "Webhook delivery attempts, by outcome.", ["outcome"]
)
QUEUE_DEPTH = Gauge("narratives_webhook_queue_depth", "Webhook messages waiting to be delivered.")
OLDEST_PENDING = Gauge(
    "narratives_webhook_oldest_pending_seconds", "Age of the oldest undelivered webhook message."
)

_SHAPES = {"narrative": NarrativeOut(), "sighting": SightingOut(), "rebuttal": RebuttalOut()}
_senders: dict[tuple[float, bool], Sender] = {}


def sender_for(settings: Settings) -> Sender:
    """One kept client per process (per settings), so connections to receivers are reused."""
    key = (settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)
    if key not in _senders:
        _senders[key] = Sender(timeout=key[0], allow_private=key[1])
    return _senders[key]


@job("webhooks", every=lambda settings: settings.WEBHOOK_POLL_SECONDS, exclusive=False)
def deliver_due(conn: Connection, settings: Settings) -> dict[str, Any]:
    """Deliver due messages until none is left or the round's time is up."""
    outcomes: dict[str, int] = {}
    lease = settings.WEBHOOK_TIMEOUT_SECONDS * 2 + LEASE_MARGIN_SECONDS
    ends = time.monotonic() + ROUND_SECONDS
    while time.monotonic() < ends:
        message = webhooks.claim(conn, lease_seconds=lease)
        if message is None:
            break
        outcome = attempt(conn, message, settings)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    stats = webhooks.queue_stats(conn)
    QUEUE_DEPTH.set(stats["depth"])
    OLDEST_PENDING.set(float(stats["oldest_seconds"]))
    return outcomes


def attempt(conn: Connection, message: dict[str, Any], settings: Settings) -> str:
    """Send one claimed message once and record how it went; returns the outcome."""
    target = webhooks.signing(conn, message["subscription_id"])
    if target is None:  # unsubscribed since the claim: the message went with it
        return "failed"
    body = message["body"] or webhooks.freeze_body(conn, message["id"], build_body(conn, message))
    headers = signing.headers(message_id(message["id"]), body, target["secrets"])
    attempted_at = datetime.now(UTC)
    result = sender_for(settings).post(target["url"], body, headers)
    attempts = message["attempts"] + 1
    next_at = None
    if result.delivered:
        outcome = "delivered"
    elif result.retryable and attempts < MAX_ATTEMPTS:
        outcome = "retry"
        wait = max(backoff(attempts, settings.WEBHOOK_RETRY_BASE_SECONDS), result.retry_after or 0)
        next_at = attempted_at + timedelta(seconds=wait)
    else:
        outcome = "failed"
    with conn.transaction():
        webhooks.record_attempt(
            conn,
            message,
            attempted_at=attempted_at,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            outcome=outcome,
            next_attempt_at=next_at,
        )
        disabled = webhooks.record_health(
            conn,
            message["subscription_id"],
            ok=result.delivered,
            at=attempted_at,
            max_failures=settings.WEBHOOK_DISABLE_AFTER_FAILURES,
            failing_hours=FAILING_HOURS,
            gone=result.status_code == 410,
            error=result.error,
        )
    DELIVERIES.labels(outcome).inc()
    if disabled:
        log.warning("webhook disabled", extra={"webhook": str(disabled["id"])})
    return outcome


def backoff(attempts: int, base: float) -> float:
    """Exponential, capped, with "equal jitter": half the delay fixed, half random, so
    receivers that failed together are not all retried at the same instant."""
    delay = min(base * 2 ** (attempts - 1), MAX_DELAY_SECONDS)
    return delay / 2 + random.uniform(0, delay / 2)


def build_body(conn: Connection, message: dict[str, Any]) -> str:
    """The payload: {type, timestamp, data}, data being the resource as its GET shows it (or
    its id, if it is gone); a resighting carries the sighting and its narrative."""
    kind = message["event_type"]
    if kind == "narrative.resighted_after_rebuttal":
        data = {
            "sighting": _current(conn, "sighting", message["record_id"]),
            "narrative": _current(conn, "narrative", message["narrative_id"]),
        }
    else:
        data = _current(conn, kind.split(".", 1)[0], message["record_id"])
    payload = {"type": kind, "timestamp": message["occurred_at"], "data": data}
    return jsonio.dumps_bytes(payload).decode()


def _current(conn: Connection, resource: str, id_: Any) -> dict[str, Any]:
    row = changes.current(conn, resource, [id_]).get(id_)
    return _SHAPES[resource].dump(row) if row else {"id": str(id_)}
