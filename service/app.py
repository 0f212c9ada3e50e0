"""The app factory's body: settings, error handling, request plumbing, the pool, the API."""

from collections.abc import Mapping
from typing import Any

from flask import Flask

from service import (
    auth,
    cli,
    config,
    db,
    errors,
    jsonio,
    logs,
    metrics,
    ratelimit,
    request_context,
)
from service.api import register_api


def build(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app: settings from the environment (then `overrides`), one pool per process."""
    # No static folder: every route is the API's own, and in its OpenAPI document.
    app = Flask(__name__, static_folder=None)
    # "//" must be a 404, not a 308 redirect built from the client's Host header.
    app.url_map.merge_slashes = False
    app.config.update(config.load())
    app.config.update(overrides or {})
    jsonio.init_app(app)  # orjson; non-ASCII (Cyrillic quotes) stays readable
    logs.configure(app.config["LOG_LEVEL"])
    errors.init_app(app)
    request_context.init_app(app)  # request ids first, so every later problem carries one
    auth.init_app(app)  # then who is calling (401) before what they sent (415)
    ratelimit.init_app(app)  # then how often (429)
    app.before_request(request_context.require_json_body)
    db.init_app(app).open()
    register_api(app)
    metrics.init_app(app)
    logs.init_app(app)
    for command in cli.COMMANDS:
        app.cli.add_command(command)
    return app
