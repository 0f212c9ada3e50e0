"""/v1/sightings: observed instances of a narrative being pushed."""

import uuid
from typing import Any

from flask.views import MethodView

from service import auth, db, pagination, urls
from service.api.blueprint import Blueprint
from service.api.lookups import narrative_for_write, narrative_or_404
from service.errors import not_found
from service.repo import sightings as repo
from service.schemas.sightings import (
    SightingCreated,
    SightingIn,
    SightingOut,
    SightingPage,
    SightingPatch,
    SightingQuery,
)

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
    def get(self, limit: int, cursor: str | None = None, **filters: Any):
        """List sightings, newest observed first."""
        after = pagination.decode("sightings", cursor) if cursor else None
        url = filters.pop("url", None)
        with db.connection() as conn:
            ref = filters.pop("narrative", None)
            if ref is not None:
                filters["narrative_id"] = narrative_or_404(conn, ref)["id"]
            if url is not None:
                filters["url_normalized"] = urls.normalize(url)
            rows = repo.list_page(conn, limit=limit, after=after, **filters)
        return pagination.page("sightings", rows, limit, "observed_at")

    @blp.requires("monitor")
    @blp.arguments(SightingIn)
    @blp.response(201, SightingCreated)
    @blp.alt_response(200, schema=SightingCreated, description="Already recorded: the stored one.")
    def post(self, data: dict[str, Any]):
        """Record a sighting. The same narrative at the same normalised URL, or the same
        `external_id` from the same key, is one sighting: posting it again returns the stored
        one with `duplicate: true` and status 200, and stores nothing."""
        with db.transaction() as conn:
            narrative = narrative_for_write(conn, data.pop("narrative"), "narrative")
            data["narrative_id"] = narrative["id"]
            id_, created = repo.insert(conn, data, by=auth.current_key_name())
            sighting = repo.get(conn, id_)
        sighting["duplicate"] = not created
        status = 201 if created else 200
        return sighting, status, {"Location": f"/v1/sightings/{id_}"}


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
            return repo.get(conn, sighting_id)
