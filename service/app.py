"""The app factory's body: settings, logging, the request pipeline, the pool, the API."""

from collections.abc import Mapping
from typing import Any

from flask import Flask

from service import config, db, logs, web
from service.api import register_api
from service.ops import cli


def build(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app: settings from the environment (then `overrides`), one pool per process."""
    # No static folder: every route is the API's own, and in its OpenAPI document.
    app = Flask(__name__, static_folder=None)
    # "//" must be a 404, not a 308 redirect built from the client's Host header.
    app.url_map.merge_slashes = False
    app.config.update(config.load())
    app.config.update(overrides or {})
    logs.configure(app.config["LOG_LEVEL"])
    web.init_app(app)
    db.init_app(app).open()
    register_api(app)
    for command in cli.COMMANDS:
        app.cli.add_command(command)
    return app
