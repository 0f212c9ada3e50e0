"""Settings, read from the environment only (twelve-factor); `overrides` exist for tests."""

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,
    "DB_POOL_MIN_SIZE": 1,
    "DB_POOL_MAX_SIZE": 10,
    "DB_POOL_TIMEOUT": 3.0,
    "DB_STATEMENT_TIMEOUT_MS": 15000,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "LOG_LEVEL": "INFO",
    "AUTH_CACHE_SECONDS": 5.0,
    "ACCESS_LOG": True,
    "RATE_LIMIT_PER_MINUTE": 6000,
    "METRICS_TOKEN": "",
}

_BOOL_KEYS = {"ACCESS_LOG"}
_INT_KEYS = {
    "RATE_LIMIT_PER_MINUTE",
    "DB_POOL_MIN_SIZE",
    "DB_POOL_MAX_SIZE",
    "DB_STATEMENT_TIMEOUT_MS",
    "MAX_CONTENT_LENGTH",
}
_FLOAT_KEYS = {"DB_POOL_TIMEOUT", "AUTH_CACHE_SECONDS"}


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings: defaults, overridden by any environment variable of the same name."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = environ.get(key)
        if raw is None or raw == "":
            continue
        if key in _BOOL_KEYS:
            settings[key] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif key in _INT_KEYS:
            settings[key] = int(raw)
        elif key in _FLOAT_KEYS:
            settings[key] = float(raw)
        else:
            settings[key] = raw
    return settings
