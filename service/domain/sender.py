"""Sending one signed webhook: Standard Webhooks headers, a pinned address, bounded everything.

The request goes to the address service/domain/targets.py checked a moment before (never a
fresh lookup by the HTTP client), with the URL's host in the Host header and, for https, in SNI
and the certificate check. No redirects are followed (a 3xx is a failure), at most
MAX_RESPONSE_BYTES of the answer are read, and each attempt has a timeout. Connections are kept
per (address, host) by one urllib3 PoolManager, so a busy receiver is not re-dialled each time.
"""

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import urllib3
from standardwebhooks.webhooks import Webhook

from service.domain import targets

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "narrative-tracker-webhooks/1"
# Retry-After beyond a day is treated as a day: the message must stay deliverable.
MAX_RETRY_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Result:
    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: float | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Timeouts, connection errors, refused targets, 5xx and 429 are tried again."""
        if self.status_code is None:
            return True
        return self.status_code == 429 or self.status_code >= 500


def message_id(id_) -> str:
    """The `webhook-id` of an outbox message: the same on every attempt."""
    return f"msg_{id_.hex}"


def signatures(msg_id: str, timestamp: int, body: str, secrets: list[str]) -> str:
    """`v1,<sig>` per secret, space-separated (during a rotation: the new one, then the old)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets)


def headers(msg_id: str, body: str, secrets: list[str], now: float | None = None) -> dict:
    timestamp = int(now if now is not None else time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures(msg_id, timestamp, body, secrets),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER_SECONDS))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER_SECONDS))


class Sender:
    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self.allow_private = allow_private
        self.pools = urllib3.PoolManager(num_pools=64, maxsize=4, retries=False, block=False)

    def post(self, url: str, body: str, request_headers: dict[str, str]) -> Result:
        started = time.monotonic()
        try:
            target = targets.check(url, allow_private=self.allow_private)
        except targets.Refused as exc:
            return Result(None, _ms(started), f"target refused: {exc}", None)
        pool_kwargs = {}
        if target.scheme == "https":
            pool_kwargs = {"server_hostname": target.host, "assert_hostname": target.host}
        pool = self.pools.connection_from_host(
            target.address, target.port, target.scheme, pool_kwargs=pool_kwargs
        )
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body.encode(),
                headers={**request_headers, "Host": target.host_header},
                redirect=False,
                retries=False,
                timeout=self.timeout,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.TimeoutError:
            return Result(None, _ms(started), "timeout", None)
        except urllib3.exceptions.HTTPError as exc:
            return Result(None, _ms(started), f"connection error: {_reason(exc)}", None)
        try:
            response.read(MAX_RESPONSE_BYTES)
            complete = response.read(1) == b""
        except (urllib3.exceptions.HTTPError, OSError):
            complete = False
        if not complete:  # an answer too long (or broken) is not worth keeping the socket for
            response.close()
        response.release_conn()
        status = response.status
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return Result(status, _ms(started), error, retry_after(response.headers.get("Retry-After")))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return reason.__class__.__name__
