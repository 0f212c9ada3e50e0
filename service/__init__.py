"""Narrative Tracker: narratives, their sightings, and the official rebuttals of them.

Kept light on purpose: gunicorn imports `service.gunicorn_conf`, and so this package, in the
master before it forks; anything imported here would be imported before the config has set up
the environment (PROMETHEUS_MULTIPROC_DIR) that the workers need.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: Mapping[str, Any] | None = None) -> "Flask":
    """Build the WSGI app: settings from the environment (then `overrides`), one pool per process."""
    from service.app import build

    return build(overrides)
