"""Settings: one typed object, read once from the environment (twelve-factor).

Every process reads it the same way: the API (`create_app`), gunicorn's config, the worker,
the commands and the migration runner. Each field is an environment variable of the same name;
its type says how the text is read, and a value that does not read (a word where a number
belongs, a negative pool size) stops the process at start with one line naming the variable.
`.env.example` and the README's settings table list exactly these fields (tests/test_config.py
holds all three equal), so a new setting cannot be forgotten in either.
"""

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A setting whose value cannot be used; the message names the variable."""


def _setting(default: Any, minimum: float | None = None) -> Any:
    return field(default=default, metadata={"minimum": minimum})


@dataclass(frozen=True)
class Settings:
    # The database
    DATABASE_URL: str = ""
    DB_POOL_MIN_SIZE: int = _setting(1, minimum=0)
    DB_POOL_MAX_SIZE: int = _setting(10, minimum=1)
    DB_POOL_TIMEOUT: float = _setting(3.0, minimum=0.1)
    DB_STATEMENT_TIMEOUT_MS: int = _setting(15000, minimum=0)
    MIGRATIONS_DIR: str = ""
    # Requests
    MAX_CONTENT_LENGTH: int = _setting(2 * 1024 * 1024, minimum=1024)
    IMPORT_MAX_BYTES: int = _setting(512 * 1024 * 1024, minimum=1024)
    RATE_LIMIT_PER_MINUTE: int = _setting(6000, minimum=0)
    AUTH_CACHE_SECONDS: float = _setting(5.0, minimum=0)
    # Logs and metrics
    LOG_LEVEL: str = "INFO"
    ACCESS_LOG: bool = True
    METRICS_TOKEN: str = ""
    PROMETHEUS_MULTIPROC_DIR: str = ""
    # gunicorn
    PORT: int = _setting(8000, minimum=1)
    BIND: str = ""
    WEB_CONCURRENCY: int = _setting(5, minimum=1)
    GUNICORN_THREADS: int = _setting(1, minimum=1)
    GUNICORN_TIMEOUT: int = _setting(30, minimum=1)
    GUNICORN_GRACEFUL_TIMEOUT: int = _setting(8, minimum=1)
    GUNICORN_KEEPALIVE: int = _setting(5, minimum=0)
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"
    # The worker
    WORKER_INTERVAL_SECONDS: float = _setting(60.0, minimum=0.1)
    IDEMPOTENCY_TTL_HOURS: int = _setting(24, minimum=1)
    MATCH_TERMS_SECONDS: float = _setting(1800.0, minimum=1)
    MATCH_QUOTES_SECONDS: float = _setting(1.0, minimum=0.05)
    WORKER_METRICS_PORT: int = _setting(0, minimum=0)
    # Webhooks (delivered by the worker)
    WEBHOOK_POLL_SECONDS: float = _setting(1.0, minimum=0.05)
    WEBHOOK_TIMEOUT_SECONDS: float = _setting(10.0, minimum=0.1)
    WEBHOOK_RETRY_BASE_SECONDS: float = _setting(5.0, minimum=0.01)
    WEBHOOK_DISABLE_AFTER_FAILURES: int = _setting(50, minimum=1)
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool = False

    @property
    def bind(self) -> str:
        return self.BIND or f"0.0.0.0:{self.PORT}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


def _read(name: str, kind: type, raw: str) -> Any:
    text = raw.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingsError(f"{name}: expected true or false, got {raw!r}")
    if kind is int or kind is float:
        try:
            return kind(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise SettingsError(f"{name}: expected {expected}, got {raw!r}") from None
    return raw


def read(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings: each field's default, overridden by a non-empty variable of its name."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(Settings):
        raw = environ.get(spec.name)
        if raw is None or raw == "":
            continue
        value = _read(spec.name, spec.type, raw)  # type: ignore[arg-type]
        minimum = spec.metadata.get("minimum")
        if minimum is not None and value < minimum:
            raise SettingsError(f"{spec.name}: must be at least {minimum}, got {raw!r}")
        values[spec.name] = value
    if "LOG_LEVEL" in values:
        values["LOG_LEVEL"] = values["LOG_LEVEL"].strip().upper()
        if values["LOG_LEVEL"] not in _LEVELS:
            raise SettingsError(f"LOG_LEVEL: expected one of {', '.join(sorted(_LEVELS))}")
    return Settings(**values)


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment with some variables set: what a child process (gunicorn,
    the worker) is started with, so it reads its settings the same way."""
    return {**os.environ, **overrides}


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings as the Flask app's config keys."""
    return read(environ).as_dict()
