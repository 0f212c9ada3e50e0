"""Every failure becomes an RFC 9457 `application/problem+json` response, here and nowhere else.

Views raise (`abort`, `not_found`, `unprocessable`) or let database exceptions propagate; this
module maps each to a status, a stable `type`, and a detail that never leaks internals.
"""

import logging
from typing import Any, NoReturn

import marshmallow as ma
import psycopg
from flask import Flask, Response, g, request
from flask_smorest import abort
from psycopg import errors as pg
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from service.schemas.common import flatten
from service.web import jsonio

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:narrative-tracker:problem:"
RETRY_AFTER_SECONDS = 5

# Constraint name -> (field the client should fix, message). The schemas are meant to refuse
# everything a CHECK would; a constraint not listed here is reported against the body as a whole.
CONSTRAINT_FIELDS = {
    "narratives_slug_key": ("slug", "A narrative with this slug already exists."),
    "narratives_parent_fkey": ("parent", "The parent narrative does not exist."),
    "narratives_parent_not_self": ("parent", "A narrative cannot be its own parent."),
    # The three identities of a sighting: the names the claims' trigger raises a clash under
    # (migration 0016; the unique indexes of these names are gone since 0017).
    "sightings_narrative_url_key": ("url", "This narrative already has a sighting at this URL."),
    "sightings_reporter_external_id_key": ("external_id", "This external_id is already used."),
    "sightings_content_key": ("_body", "This narrative already has this sighting."),
    "sightings_narrative_fkey": ("narrative", "The narrative does not exist."),
    "rebuttal_narratives_narrative_fkey": ("narratives", "A narrative does not exist."),
    "webhook_subscriptions_narrative_fkey": ("narrative", "The narrative does not exist."),
    "api_keys_name_key": (
        "name",
        "A key with this name exists or existed; names are never reused.",
    ),
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only; responses are built by `problem`).
    Extension members may appear (a refused batch carries its per-item `results`)."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"description": "A URI naming the kind of problem."})
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem."})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code."})
    detail = ma.fields.String(metadata={"description": "What went wrong with this request."})
    instance = ma.fields.String(metadata={"description": "The path of the request."})
    request_id = ma.fields.String(metadata={"description": "Quote it when reporting a problem."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Validation messages by field (dotted path for nested fields)."},
    )


def _printable(text: str) -> str:
    """Text safe to put in any JSON document: lone surrogates (from input) become U+FFFD."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind if kind else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = _printable(detail)
    body["instance"] = request.path
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = {_printable(field): messages for field, messages in errors.items()}
    body.update(extensions or {})
    response = Response(jsonio.dumps_bytes(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def not_found(kind: str, ref: str) -> NoReturn:
    abort(404, message=f"No {kind} matches '{ref}'.", kind="not-found")


def unprocessable(field: str, message: str) -> NoReturn:
    abort(422, message=message, errors={field: [message]}, kind="validation")


def _validation_errors(data: dict) -> dict[str, list[str]]:
    """webargs nests messages under their location ('json', 'query'); clients want field names."""
    messages = data.get("errors") or data.get("messages") or {}
    flat: dict[str, list[str]] = {}
    for location, by_field in messages.items():
        if isinstance(by_field, dict):
            flat.update(flatten(by_field))
        else:
            flat.update(flatten(by_field, location))
    return flat


def _http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = {}
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(sorted(error.valid_methods))  # type: ignore[attr-defined]
    headers.update(data.get("headers") or {})
    detail = data.get("message") or error.description
    kind = data.get("kind")
    errors = None
    if status == 422 or "messages" in data or "errors" in data:
        errors = _validation_errors(data)
        kind = kind or "validation"
        if not data.get("message"):
            detail = "The request has invalid fields: " + ", ".join(sorted(errors)) + "."
    if status == 400 and "messages" in data and "json" in (data.get("messages") or {}):
        kind, detail, errors = "malformed-json", "The request body is not valid JSON.", None
    return problem(
        status,
        error.name,
        detail,
        kind=kind,
        errors=errors,
        headers=headers,
        extensions=data.get("extensions"),
    )


def _database_problem(error: psycopg.Error) -> Response:
    constraint = getattr(error.diag, "constraint_name", None) or ""
    field, message = CONSTRAINT_FIELDS.get(constraint, ("_body", None))
    if isinstance(error, pg.UniqueViolation):
        message = message or "The record conflicts with an existing one."
        return problem(409, "Conflict", message, kind="conflict", errors={field: [message]})
    if isinstance(error, pg.ForeignKeyViolation | pg.CheckViolation | pg.NotNullViolation):
        log.warning("database refused a value the schemas let through: %s", constraint)
        message = message or "A value is not allowed."
        return problem(
            422, "Unprocessable Entity", message, kind="validation", errors={field: [message]}
        )
    return problem(
        422, "Unprocessable Entity", "A value is out of range for its field.", kind="validation"
    )


def _operational(error: Exception) -> Response:
    """Sort database failures by what a client should do about them (SQLSTATE class)."""
    state = getattr(error, "sqlstate", None) or ""
    if state.startswith("54"):  # program limit exceeded: the request itself is too big
        return problem(
            422, "Unprocessable Entity", "A value is too large to store.", kind="too-large"
        )
    if state == "57014":  # statement timeout: retrying the same query will not help soon
        log.warning("statement timeout (request_id=%s)", g.get("request_id"))
        return problem(
            503,
            "Service Unavailable",
            "The query took too long; narrow the filters or retry later.",
            kind="timeout",
            headers={"Retry-After": "30"},
        )
    if state.startswith("40"):  # deadlock or serialization failure: a prompt retry succeeds
        return problem(
            503,
            "Service Unavailable",
            "A concurrent write got in the way; retry.",
            kind="conflict-retry",
            headers={"Retry-After": "1"},
        )
    return _unavailable(error)


def _unavailable(error: Exception) -> Response:
    log.warning("database unavailable: %s", error.__class__.__name__)
    return problem(
        503,
        "Service Unavailable",
        "The database is unavailable; retry shortly.",
        kind="unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _internal(error: Exception) -> Response:
    log.exception("unhandled error (request_id=%s)", g.get("request_id"))
    return problem(500, "Internal Server Error", "An unexpected error occurred.", kind="internal")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_problem)
    app.register_error_handler(pg.IntegrityError, _database_problem)
    app.register_error_handler(pg.DataError, _database_problem)
    app.register_error_handler(psycopg.OperationalError, _operational)
    app.register_error_handler(PoolTimeout, _unavailable)
    app.register_error_handler(Exception, _internal)
