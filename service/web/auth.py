"""API keys and roles.

A key is `nt_` + 43 random URL-safe characters (256 bits), shown once and stored as its SHA-256
(a slow hash buys nothing for secrets this long). Requests carry `Authorization: Bearer <key>`.
Every route needs a key except the public ones (health, the spec, the docs page): identification
happens before any view, so a route nobody remembered to protect is still closed. Each view then
states the least role it needs; roles include the ones before them.

Identified keys are cached per process for AUTH_CACHE_SECONDS so the hot path does not pay a
database round trip per request; revoking through this process takes effect at once, through
another process within that many seconds.
"""

import hashlib
import re
import secrets
import threading
import time
from typing import Any, NoReturn

from flask import Flask, current_app, g, request
from flask_smorest import abort

from service import db
from service.domain.roles import RANK
from service.repo import keys as repo

PUBLIC_BLUEPRINTS = frozenset({"health", "contract"})
PREFIX = "nt_"
KEY_FORMAT = re.compile(
    r"nt_[A-Za-z0-9_-]{43}"
)  # what generate() makes; anything else is refused unread
_CACHE = "narratives.key_cache"


def generate() -> tuple[str, str, str]:
    """A new key: (key, its display prefix, its hash)."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], digest(key)


def issue(conn: Any, *, name: str, role: str, by: str | None) -> dict[str, Any]:
    """Create a key; the returned record carries the secret under `key`, the only time it exists
    outside the caller's hands."""
    key, prefix, key_hash = generate()
    record = repo.insert(conn, name=name, role=role, prefix=prefix, key_hash=key_hash, by=by)
    return {**record, "key": key}


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyCache:
    """hash -> (expiry, key) for identified keys; thread-safe, bounded."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> dict[str, Any] | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key_hash)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, key_hash: str, key: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + self.ttl, key)

    def forget(self, key_id: Any) -> None:
        with self._lock:
            for key_hash, (_, key) in list(self._entries.items()):
                if key["id"] == key_id:
                    del self._entries[key_hash]


def _unauthorized(detail: str, error: str | None = None) -> NoReturn:
    challenge = 'Bearer realm="narrative-tracker"'
    if error:
        challenge += f', error="{error}"'
    abort(401, message=detail, kind="unauthorized", headers={"WWW-Authenticate": challenge})


def identify() -> None:
    """before_request: who is calling? Public endpoints pass; everything else needs a key."""
    if request.blueprint in PUBLIC_BLUEPRINTS or request.method == "OPTIONS":
        return
    if request.routing_exception is not None:
        return  # an unknown path or method: its 404/405 tells nothing the contract does not
    header = request.headers.get("Authorization")
    if not header:
        _unauthorized("Send an API key: Authorization: Bearer <key>.")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        _unauthorized("Use the Bearer scheme: Authorization: Bearer <key>.", "invalid_request")
    if not KEY_FORMAT.fullmatch(key):
        _unauthorized("The API key is unknown or revoked.", "invalid_token")
    key_hash = digest(key)
    cache: KeyCache = current_app.extensions[_CACHE]
    found = cache.get(key_hash)
    if found is None:
        with db.connection() as conn:
            found = repo.authenticate(conn, key_hash)
        if found is None:
            _unauthorized("The API key is unknown or revoked.", "invalid_token")
        cache.put(key_hash, found)
    g.api_key = found


def require(role: str) -> None:
    """Refuse (403) a caller whose role ranks below `role`."""
    key = g.get("api_key")
    if key is None:
        _unauthorized("Send an API key: Authorization: Bearer <key>.")
    if RANK[key["role"]] < RANK[role]:
        abort(
            403,
            message=f"This needs the '{role}' role; the key '{key['name']}' has '{key['role']}'.",
            kind="forbidden",
        )


def has_role(role: str) -> bool:
    """Whether the calling key ranks at or above `role`."""
    key = g.get("api_key")
    return key is not None and RANK[key["role"]] >= RANK[role]


def current_key_name() -> str | None:
    """The name of the calling key: the provenance recorded on every write."""
    key = g.get("api_key")
    return key["name"] if key else None


def forget(key_id: Any) -> None:
    current_app.extensions[_CACHE].forget(key_id)


def init_app(app: Flask) -> None:
    app.extensions[_CACHE] = KeyCache(app.config["AUTH_CACHE_SECONDS"])
    app.before_request(identify)
