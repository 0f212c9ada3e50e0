"""/v1/sightings: observed instances of a narrative being pushed."""

import uuid
from typing import Any

from flask.views import MethodView

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
    SightingQuery,
)
from service.web import auth
from service.web.body import json_body
from service.web.idempotency import idempotent
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
            return repo.list_page(conn, page, **filters)

    @blp.requires("monitor")
    @idempotent
    @blp.doc(requestBody=REQUEST_BODY)
    @blp.response(201, SightingCreated)
    @blp.doc(responses={"200": OK_RESPONSE})
    @blp.alt_response(
        207, schema=SightingBatchOut, description="Batch: some items stored, some invalid."
    )
    def post(self):
        """Record one sighting, or a batch of up to 1000.

        **One** (a sighting object): 201 with the sighting. The same narrative at the same
        normalised URL, or the same `external_id` from the same key, is one sighting (and,
        for a sighting with neither, the same narrative, moment, source, speaker and quote):
        posting it again returns the stored one with `duplicate: true` and status 200,
        storing nothing.

        **A batch** (`{"sightings": [...]}`): one result per item, in order: `created` (with
        its id), `duplicate` (with the existing id) or `invalid` (with field errors). Invalid
        items never block valid ones; the valid ones are written in one transaction. 200 when
        every item was accepted, 207 when some were invalid, 422 when none was valid, 413 past
        1000 items.

        Send an `Idempotency-Key` header to have a retry replay the first response exactly."""
        body = json_body()
        if isinstance(body, dict) and "sightings" in body:
            return ingest.batch(body)
        return ingest.one(body)


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
    def patch(self, changes: dict[str, Any], sighting_id: uuid.UUID):
        """Review (`status`) or correct a sighting; `narrative` moves it to another narrative."""
        with db.transaction() as conn:
            if repo.get(conn, sighting_id) is None:
                not_found("sighting", str(sighting_id))
            if "narrative" in changes:
                narrative = narrative_for_write(conn, changes.pop("narrative"), "narrative")
                changes["narrative_id"] = narrative["id"]
            repo.update(conn, sighting_id, changes, by=auth.current_key_name())
            # Deleted meanwhile by another request: say so rather than answer an empty 200.
            return repo.get(conn, sighting_id) or not_found("sighting", str(sighting_id))


def document(spec) -> None:
    """Register the two request shapes that POST's hand-written requestBody refers to."""
    spec.components.schema("SightingIn", schema=SightingIn)
    spec.components.schema("SightingBatchIn", schema=SightingBatchIn)
