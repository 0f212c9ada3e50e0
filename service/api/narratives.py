"""/v1/narratives: the claims being tracked, and each one's sightings and rebuttals."""

from typing import Any

from flask.views import MethodView
from psycopg import Connection

from service import db
from service.api import exports
from service.api.blueprint import Blueprint
from service.api.exports import JSON_LD
from service.api.lookups import narrative_or_404
from service.repo import narratives as repo
from service.repo import rebuttals as rebuttals_repo
from service.repo import sightings as sightings_repo
from service.repo.pages import Page
from service.schemas.common import CLAIMREVIEW_ALSO, FormatQuery, kebab, names_an_id
from service.schemas.narratives import (
    NarrativeIn,
    NarrativeOut,
    NarrativePage,
    NarrativePatch,
    NarrativeQuery,
)
from service.schemas.rebuttals import NarrativeRebuttalQuery, RebuttalPage
from service.schemas.sightings import NarrativeSightingQuery, SightingPage
from service.web import auth, conditional
from service.web.negotiation import JSON, negotiate, negotiates
from service.web.pagination import paginated
from service.web.problems import not_found, unprocessable

blp = Blueprint(
    "narratives",
    __name__,
    url_prefix="/v1/narratives",
    description="Claims being pushed; `{ref}` is a narrative's id or slug.",
)


@blp.route("")
class Narratives(MethodView):
    @blp.requires("reader")
    @blp.arguments(NarrativeQuery, location="query", as_kwargs=True)
    @blp.response(200, NarrativePage)
    @paginated("narratives", "created_at")
    def get(self, page: Page, **filters: Any):
        """List narratives, newest first; archived ones only when asked for by `status`."""
        with db.connection() as conn:
            return repo.list_page(conn, page, **filters)

    @blp.requires("editor")
    @blp.arguments(NarrativeIn)
    @blp.response(201, NarrativeOut)
    def post(self, data: dict[str, Any]):
        """Create a narrative."""
        data["slug"] = data.get("slug") or kebab(data["title"])
        if not data["slug"]:
            unprocessable("slug", "The title has no Latin letters or digits; give a slug.")
        if names_an_id(data["slug"]):
            unprocessable("slug", "The title makes a slug that looks like an id; give a slug.")
        with db.transaction() as conn:
            data["parent_id"] = _parent_id(conn, data.pop("parent"), None)
            id_ = repo.insert(conn, data, by=auth.current_key_name())
            created = repo.get(conn, id_)
        return created, 201, {"Location": f"/v1/narratives/{created['slug']}"}


@blp.route("/<ref>")
class NarrativeByRef(MethodView):
    @blp.requires("reader")
    @blp.arguments(FormatQuery, location="query", as_kwargs=True)
    @blp.response(200, NarrativeOut)
    @blp.doc(responses=CLAIMREVIEW_ALSO)
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @negotiates
    def get(self, ref: str, format: str | None = None):
        """One narrative, archived or not; or its rebuttals as schema.org ClaimReview
        (`Accept: application/ld+json`, or `?format=claimreview`)."""
        if format == "claimreview" or (format is None and negotiate(JSON, JSON_LD) == JSON_LD):
            return exports.narrative_claimreview(ref, JSON_LD)
        with db.connection() as conn:
            return repo.get(conn, ref) or not_found("narrative", ref)

    @blp.requires("editor")
    @blp.arguments(NarrativePatch)
    @blp.response(200, NarrativeOut)
    @blp.alt_response(
        412, response="PRECONDITION_FAILED", description="If-Match named an old version."
    )
    def patch(self, changes: dict[str, Any], ref: str):
        """Change some fields; `aliases`, `keywords` and `tags` replace the whole list."""
        with db.transaction() as conn:
            narrative = narrative_or_404(conn, ref)
            _unchanged_since_read(conn, narrative["id"], ref)
            if "parent" in changes:
                changes["parent_id"] = _parent_id(conn, changes.pop("parent"), narrative["id"])
            repo.update(conn, narrative["id"], changes, by=auth.current_key_name())
            return repo.get(conn, narrative["id"]) or not_found("narrative", ref)

    @blp.requires("editor")
    @blp.response(204)
    @blp.alt_response(
        412, response="PRECONDITION_FAILED", description="If-Match named an old version."
    )
    def delete(self, ref: str):
        """Archive a narrative: it leaves default lists but keeps its sightings and rebuttals."""
        with db.transaction() as conn:
            narrative = narrative_or_404(conn, ref)
            _unchanged_since_read(conn, narrative["id"], ref)
            repo.archive(conn, narrative["id"], by=auth.current_key_name())


@blp.route("/<ref>/sightings")
class NarrativeSightings(MethodView):
    @blp.requires("reader")
    @blp.arguments(NarrativeSightingQuery, location="query", as_kwargs=True)
    @blp.response(200, SightingPage)
    @paginated("sightings", "observed_at")
    def get(self, ref: str, page: Page, **filters: Any):
        """This narrative's sightings, newest observed first."""
        with db.connection() as conn:
            narrative = narrative_or_404(conn, ref)
            return sightings_repo.list_page(
                conn, page, narrative_id=narrative["id"], json_as_written=True, **filters
            )


@blp.route("/<ref>/rebuttals")
class NarrativeRebuttals(MethodView):
    @blp.requires("reader")
    @blp.arguments(NarrativeRebuttalQuery, location="query", as_kwargs=True)
    @blp.response(200, RebuttalPage)
    @paginated("rebuttals", "published_at")
    def get(self, ref: str, page: Page, **filters: Any):
        """What has been said against this narrative, newest first."""
        with db.connection() as conn:
            narrative = narrative_or_404(conn, ref)
            return rebuttals_repo.list_page(
                conn, page, narrative_id=narrative["id"], json_as_written=True, **filters
            )


def _parent_id(conn: Connection, ref: str | None, child_id: Any) -> Any:
    """The parent's id for a ref, refusing unknown parents and cycles (422 on `parent`)."""
    if ref is None:
        return None
    parent = repo.resolve(conn, ref)
    if parent is None:
        unprocessable("parent", f"No narrative matches '{ref}'.")
    if child_id is not None and repo.creates_cycle(conn, child_id, parent["id"]):
        unprocessable("parent", "A narrative cannot descend from itself.")
    return parent["id"]


_OUT = NarrativeOut()


def _unchanged_since_read(conn: Connection, id_: Any, ref: str) -> None:
    """With If-Match, a 412 unless the narrative is as the client last read it."""
    conditional.require_current(
        conn,
        "narratives",
        id_,
        current=lambda: repo.get(conn, id_),
        schema=_OUT,
        kind="narrative",
        ref=ref,
    )
