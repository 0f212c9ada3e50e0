"""/v1/rebuttals: official statements against narratives."""

import uuid
from typing import Any

from flask.views import MethodView
from psycopg import Connection

from service import db
from service.api import exports
from service.api.blueprint import Blueprint
from service.api.exports import JSON_LD
from service.api.lookups import narrative_for_write, narrative_or_404
from service.repo import rebuttals as repo
from service.repo.pages import Page
from service.schemas.common import CLAIMREVIEW_ALSO, FormatQuery
from service.schemas.rebuttals import (
    RebuttalIn,
    RebuttalOut,
    RebuttalPage,
    RebuttalPatch,
    RebuttalQuery,
)
from service.web import auth, conditional
from service.web.negotiation import JSON, negotiate, negotiates
from service.web.pagination import paginated
from service.web.problems import not_found

blp = Blueprint(
    "rebuttals",
    __name__,
    url_prefix="/v1/rebuttals",
    description="Who refuted a narrative, in which office, when, and how.",
)


@blp.route("")
class Rebuttals(MethodView):
    @blp.requires("reader")
    @blp.arguments(RebuttalQuery, location="query", as_kwargs=True)
    @blp.response(200, RebuttalPage)
    @paginated("rebuttals", "published_at")
    def get(self, page: Page, **filters: Any):
        """List rebuttals, newest published first."""
        with db.connection() as conn:
            ref = filters.pop("narrative", None)
            narrative_id = narrative_or_404(conn, ref)["id"] if ref is not None else None
            return repo.list_page(
                conn, page, narrative_id=narrative_id, json_as_written=True, **filters
            )

    @blp.requires("editor")
    @blp.arguments(RebuttalIn)
    @blp.response(201, RebuttalOut)
    def post(self, data: dict[str, Any]):
        """Record a rebuttal of one or more narratives."""
        with db.transaction() as conn:
            narrative_ids = _narrative_ids(conn, data["narratives"])
            id_ = repo.insert(conn, data, narrative_ids, by=auth.current_key_name())
            rebuttal = repo.get(conn, id_)
        return rebuttal, 201, {"Location": f"/v1/rebuttals/{id_}"}


@blp.route("/<uuid:rebuttal_id>")
class RebuttalById(MethodView):
    @blp.requires("reader")
    @blp.arguments(FormatQuery, location="query", as_kwargs=True)
    @blp.response(200, RebuttalOut)
    @blp.doc(responses=CLAIMREVIEW_ALSO)
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @negotiates
    def get(self, rebuttal_id: uuid.UUID, format: str | None = None):
        """One rebuttal; or it as schema.org ClaimReview (`Accept: application/ld+json`, or
        `?format=claimreview`)."""
        if format == "claimreview" or (format is None and negotiate(JSON, JSON_LD) == JSON_LD):
            return exports.rebuttal_claimreview(rebuttal_id, JSON_LD)
        with db.connection() as conn:
            return repo.get(conn, rebuttal_id) or not_found("rebuttal", str(rebuttal_id))

    @blp.requires("editor")
    @blp.arguments(RebuttalPatch)
    @blp.response(200, RebuttalOut)
    @blp.alt_response(
        412, response="PRECONDITION_FAILED", description="If-Match named an old version."
    )
    def patch(self, changes: dict[str, Any], rebuttal_id: uuid.UUID):
        """Correct a rebuttal; `narratives` replaces the whole list."""
        with db.transaction() as conn:
            if repo.get(conn, rebuttal_id) is None:
                not_found("rebuttal", str(rebuttal_id))
            _unchanged_since_read(conn, rebuttal_id)
            repo.update(conn, rebuttal_id, changes, by=auth.current_key_name())
            if "narratives" in changes:
                repo.link(conn, rebuttal_id, _narrative_ids(conn, changes["narratives"]))
            # Deleted meanwhile by another request: say so rather than answer an empty 200.
            return repo.get(conn, rebuttal_id) or not_found("rebuttal", str(rebuttal_id))

    @blp.requires("editor")
    @blp.response(204)
    @blp.alt_response(
        412, response="PRECONDITION_FAILED", description="If-Match named an old version."
    )
    def delete(self, rebuttal_id: uuid.UUID):
        """Delete a rebuttal recorded in error."""
        with db.transaction(attributed=True) as conn:
            _unchanged_since_read(conn, rebuttal_id)
            if not repo.delete(conn, rebuttal_id):
                not_found("rebuttal", str(rebuttal_id))


def _narrative_ids(conn: Connection, refs: list[str]) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for index, ref in enumerate(refs):
        narrative_id = narrative_for_write(conn, ref, f"narratives.{index}")["id"]
        if narrative_id not in ids:
            ids.append(narrative_id)
    return ids


_OUT = RebuttalOut()


def _unchanged_since_read(conn: Connection, id_: uuid.UUID) -> None:
    """With If-Match, a 412 unless the rebuttal is as the client last read it."""
    conditional.require_current(
        conn,
        "rebuttals",
        id_,
        current=lambda: repo.get(conn, id_),
        schema=_OUT,
        kind="rebuttal",
        ref=str(id_),
    )
