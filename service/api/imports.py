"""/v1/sightings/import: a monitor's backfill, one sighting per NDJSON line, streamed."""

from flask import request
from flask.views import MethodView
from flask_smorest import abort

from service import db
from service.api.blueprint import Blueprint
from service.domain import imports
from service.schemas.imports import NDJSON, REQUEST_BODY, ImportOut
from service.web import auth, body, metrics
from service.web.idempotency import idempotent_stream, streamed_body
from service.web.jsonio import rows_response

blp = Blueprint(
    "sighting_imports",
    __name__,
    url_prefix="/v1/sightings",
    description="Bulk import of sightings from NDJSON.",
)

# gunicorn's config puts its worker's heartbeat here, so that a long import that keeps reading
# is not taken for a stuck worker.
HEARTBEAT = "narratives.heartbeat"


@blp.route("/import")
class SightingImport(MethodView):
    @blp.requires("monitor")
    @idempotent_stream
    @blp.response(200, ImportOut)
    @blp.alt_response(207, schema=ImportOut, description="Some lines stored, some invalid.")
    @blp.alt_response(
        422,
        response="UNPROCESSABLE_ENTITY",
        description="No line is valid (the problem carries the summary too); nothing stored.",
    )
    @blp.alt_response(
        400,
        response="BAD_REQUEST",
        description="The body was cut short (a last line with no newline that is not JSON, "
        "or the client went away): nothing stored.",
    )
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    def post(self):
        """Import sightings from NDJSON: one sighting object per line.

        Each line is what `POST /v1/sightings` takes as one sighting, with the same rules
        and the same identity (a line repeating a stored sighting, or an earlier line of the
        file, is a duplicate and stores nothing). The body is read as a stream, up to
        1,000,000 lines and `IMPORT_MAX_BYTES` bytes. The valid lines are stored in one
        transaction: all of them, or, when the body is cut short (client gone, last line
        unfinished) or over a limit, none. 200 when every line was accepted, 207 when some
        were invalid (they are listed with their line numbers), 422 when none was valid.

        Send an `Idempotency-Key` header to have a retry replay the first response."""
        by = auth.current_key_name()
        try:
            with db.transaction() as conn:
                outcome = imports.run(
                    conn, streamed_body(), by=by, heartbeat=request.environ.get(HEARTBEAT)
                )
        except imports.Truncated as cut:
            abort(400, message=str(cut), kind="truncated-body")
        except imports.TooManyLines as refused:
            abort(413, message=str(refused), kind="too-many-lines")
        metrics.record_ingest(
            created=outcome.created, duplicate=outcome.duplicates, invalid=outcome.invalid
        )
        if not outcome.accepted:
            abort(
                422,
                message="No line of the import is valid.",
                kind="validation",
                extensions=outcome.as_body(),
            )
        return rows_response(outcome.as_body(), 207 if outcome.invalid else 200)


body.streamed(f"{blp.name}.{SightingImport.__name__}", NDJSON, "IMPORT_MAX_BYTES")


def document(spec) -> None:
    spec._paths["/v1/sightings/import"]["post"]["requestBody"] = REQUEST_BODY
