"""/v1/sightings: observed instances of a narrative being pushed."""

import uuid
from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import abort

from service import db
from service.api.blueprint import Blueprint
from service.api.lookups import narrative_for_write, narrative_or_404
from service.domain import ingest, urls
from service.repo import sightings as repo
from service.repo.pages import Page
from service.schemas.sightings import (
    OK_RESPONSE,
    REQUEST_BODY,
    SightingBatchIn,
    SightingBatchOut,
    SightingCreated,
    SightingIn,
    SightingOut,
    SightingPage,
    SightingPatch,
    SightingPost,
    SightingQuery,
)
from service.web import auth, conditional, metrics
from service.web.idempotency import idempotent
from service.web.jsonio import rows_response
from service.web.pagination import paginated
from service.web.problems import not_found

blp = Blueprint(
    "sightings",
    __name__,
    url_prefix="/v1/sightings",
    description="Who pushed a narrative, where and when.",
)


@blp.route("")
class Sightings(MethodView):
    @blp.requires("reader")
    @blp.arguments(SightingQuery, location="query", as_kwargs=True)
    @blp.response(200, SightingPage)
    @paginated("sightings", "observed_at")
    def get(self, page: Page, **filters: Any):
        """List sightings, newest observed first."""
        url = filters.pop("url", None)
        with db.connection() as conn:
            ref = filters.pop("narrative", None)
            if ref is not None:
                filters["narrative_id"] = narrative_or_404(conn, ref)["id"]
            if url is not None:
                filters["url_normalized"] = urls.normalize(url)
            return repo.list_page(conn, page, json_as_written=True, **filters)

    @blp.requires("monitor")
    @idempotent
    @blp.arguments(SightingPost)
    @blp.response(201, SightingCreated)
    @blp.doc(responses={"200": OK_RESPONSE})
    @blp.alt_response(
        207, schema=SightingBatchOut, description="Batch: some items stored, some invalid."
    )
    @blp.alt_response(
        422,
        response="UNPROCESSABLE_ENTITY",
        description="One sighting that is invalid, or a batch of which no item is valid "
        "(the problem then carries the per-item `results` too).",
    )
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    def post(self, body: dict[str, Any]):
        """Record one sighting, or a batch of up to 1000.

        **One** (a sighting object): 201 with the sighting. The same narrative at the same
        normalised URL, or the same `external_id` from the same key, is one sighting (and,
        for a sighting with neither, the same narrative, moment, source, speaker and quote):
        posting it again returns the stored one with `duplicate: true` and status 200,
        storing nothing. An invalid sighting is a 422.

        **A batch** (`{"sightings": [...]}`): one result per item, in order: `created` (with
        its id), `duplicate` (with the existing id) or `invalid` (with field errors). Invalid
        items never block valid ones; the valid ones are written in one transaction. 200 when
        every item was accepted, 207 when some were invalid, 422 when none was valid, 413 past
        1000 items.

        Send an `Idempotency-Key` header to have a retry replay the first response exactly."""
        by = auth.current_key_name()
        if "sightings" in body:
            return _record_batch(body["sightings"], by)
        return _record_one(body, by)


# One instance for every request: building a schema deep-copies its fields and its nested
# schemas' (five schemas here, a sixth of a POST's CPU).
_CREATED = SightingCreated()


def _record_one(body: dict[str, Any], by: str) -> Response:
    try:
        with db.transaction() as conn:
            sighting, created = ingest.record_one(conn, body, by=by)
    except ingest.Invalid as refused:
        metrics.record_ingest(invalid=1)
        abort(422, errors=refused.errors, kind="validation")
    metrics.record_ingest(created=int(created), duplicate=int(not created))
    response = jsonify(_CREATED.dump({**sighting, "duplicate": not created}))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/sightings/{sighting['id']}"
    return response


def _record_batch(items: list[Any], by: str) -> Response:
    try:
        with db.transaction() as conn:
            outcome = ingest.record_batch(conn, items, by=by)
    except ingest.TooMany as refused:
        abort(413, message=str(refused), kind="batch-too-large")
    metrics.record_ingest(**outcome.counts)
    if not outcome.accepted:
        errors = {
            f"sightings.{result['index']}.{field}": messages
            for result in outcome.results
            for field, messages in result["errors"].items()
        }
        abort(
            422,
            message="No item of the batch is valid.",
            errors=errors,
            kind="validation",
            extensions=outcome.as_body(),
        )
    return rows_response(outcome.as_body(), 207 if outcome.counts["invalid"] else 200)


@blp.route("/<uuid:sighting_id>")
class SightingById(MethodView):
    @blp.requires("reader")
    @blp.response(200, SightingOut)
    def get(self, sighting_id: uuid.UUID):
        """One sighting."""
        with db.connection() as conn:
            return repo.get(conn, sighting_id) or not_found("sighting", str(sighting_id))

    @blp.requires("editor")
    @blp.arguments(SightingPatch)
    @blp.response(200, SightingOut)
    @blp.alt_response(
        412, response="PRECONDITION_FAILED", description="If-Match named an old version."
    )
    def patch(self, changes: dict[str, Any], sighting_id: uuid.UUID):
        """Review (`status`) or correct a sighting; `narrative` moves it to another narrative."""
        with db.transaction() as conn:
            if repo.get(conn, sighting_id) is None:
                not_found("sighting", str(sighting_id))
            conditional.require_current(
                conn,
                "sightings",
                sighting_id,
                current=lambda: repo.get(conn, sighting_id),
                schema=_OUT,
                kind="sighting",
                ref=str(sighting_id),
            )
            if "narrative" in changes:
                narrative = narrative_for_write(conn, changes.pop("narrative"), "narrative")
                changes["narrative_id"] = narrative["id"]
            repo.update(conn, sighting_id, changes, by=auth.current_key_name())
            # Deleted meanwhile by another request: say so rather than answer an empty 200.
            return repo.get(conn, sighting_id) or not_found("sighting", str(sighting_id))


_OUT = SightingOut()


def document(spec) -> None:
    """POST's body is one of two shapes (SightingPost only checks which): document both."""
    spec.components.schema("SightingIn", schema=SightingIn)
    spec.components.schema("SightingBatchIn", schema=SightingBatchIn)
    spec._paths["/v1/sightings"]["post"]["requestBody"] = REQUEST_BODY
