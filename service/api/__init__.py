"""HTTP layer: one blueprint module per resource, registered on one flask-smorest Api."""

import http
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from service.api.blueprint import BEARER
from service.web.problems import PROBLEM_JSON, ProblemSchema

API_TITLE = "Narrative Tracker"
API_VERSION = "1.0.0"

_DESCRIPTION = """\
Records **narratives** (claims being pushed), their **sightings** (who pushed the claim, where and
when) and the official **rebuttals** of them, with provenance. The service takes no side: it
records narratives from any actor and lets the evidence speak.

Conventions: JSON in and out, `snake_case`, timestamps RFC 3339 in UTC. Unknown fields are
rejected with 422. Lists return `{"items": [...], "next_cursor": "..." | null}` and page with
opaque keyset cursors. Every error is an RFC 9457 `application/problem+json` document.

Conditional requests: every successful GET carries a strong `ETag` and answers `304 Not
Modified` to an `If-None-Match` that names it; `PATCH` and `DELETE` accept `If-Match` and answer
`412 Precondition Failed` when the resource changed since it was read (the header is optional).
"""


class TrackerApi(Api):
    """flask-smorest's Api, with errors documented and rendered as problem+json (service.web.problems)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Error handlers are registered by service.web.problems; flask-smorest's would shadow them."""

    def _register_responses(self) -> None:
        """Document every error response as problem+json (flask-smorest says application/json)."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def settings() -> dict[str, Any]:
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.1.0",
        # flask-smorest serves nothing itself: service/api/docs.py serves the contract and
        # the docs page, and documents them.
        "OPENAPI_URL_PREFIX": None,
        "API_SPEC_OPTIONS": {
            "info": {"description": _DESCRIPTION},
            "servers": [{"url": "/", "description": "This server"}],
        },
    }


def register_api(app: Flask) -> TrackerApi:
    from service.api import (
        audit,
        changes,
        docs,
        exports,
        health,
        imports,
        keys,
        match,
        narratives,
        rebuttals,
        sightings,
        stats,
        webhooks,
    )

    for key, value in settings().items():
        app.config.setdefault(key, value)
    api = TrackerApi(app)
    api.spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "description": "An API key."}
    )
    for module in (
        health,
        narratives,
        sightings,
        imports,
        rebuttals,
        match,
        keys,
        audit,
        exports,
        changes,
        webhooks,
        stats,
    ):
        api.register_blueprint(module.blp)
    sightings.document(api.spec)
    imports.document(api.spec)
    app.register_blueprint(docs.blp)
    docs.attach(app, api)
    return api
