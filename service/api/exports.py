"""Exports: a narrative as a STIX 2.1 bundle, rebuttals as schema.org ClaimReview, and a
ClaimReview feed. Each view fetches rows (service/repo/exports.py) and hands them to a builder
(service/formats/)."""

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask.views import MethodView

from service import db
from service.api.blueprint import Blueprint
from service.api.lookups import narrative_or_404
from service.formats import claimreview, stix
from service.repo import exports as repo
from service.repo import rebuttals as rebuttals_repo
from service.schemas.exports import (
    ClaimReviewDocument,
    ClaimReviewFeed,
    ClaimReviewFeedQuery,
    StixBundle,
)
from service.web import pagination
from service.web.jsonio import rows_response
from service.web.negotiation import negotiate, negotiates
from service.web.problems import not_found

# Bounds on one export, so a busy narrative cannot make a response of any size: STIX gets the
# latest STIX_SIGHTINGS sightings one by one and a summary sighting for the rest; a ClaimReview
# lists the claim's first appearance and its latest APPEARANCES; both take a narrative's latest
# REBUTTALS rebuttals.
STIX_SIGHTINGS = 100
APPEARANCES = 10
REBUTTALS = 200

JSON = "application/json"
JSON_LD = "application/ld+json"


def _also_as_json(schema: str) -> dict[str, Any]:
    """The same document as `application/json`, for clients that ask for that."""
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {200: {"content": {JSON: {"schema": ref}}}}


blp = Blueprint(
    "exports",
    __name__,
    url_prefix="/v1",
    description="Narratives and rebuttals in the formats other tools read: STIX 2.1 (OpenCTI, "
    "MISP) and schema.org ClaimReview (search engines, fact-check tools).",
)


@blp.route("/narratives/<ref>/stix")
class NarrativeStix(MethodView):
    @blp.requires("reader")
    @blp.response(200, StixBundle, content_type=stix.MEDIA_TYPE)
    @blp.doc(responses=_also_as_json("StixBundle"))
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @negotiates
    def get(self, ref: str):
        """The narrative as a STIX 2.1 bundle (OpenCTI, MISP).

        With its parent and children, its latest 100 sightings one by one (older ones as one
        summary sighting with their count), the identities of sources, speakers and issuers,
        a note per rebuttal (its latest 200) and a report referring to everything. Ids are
        stable: exporting unchanged data twice gives the same bundle. Sent as
        `application/stix+json;version=2.1`, or `application/json` if `Accept` asks for it."""
        media_type = negotiate(stix.MEDIA_TYPE, JSON)
        with db.connection() as conn:
            narrative_id = narrative_or_404(conn, ref)["id"]
            rows = repo.family(conn, narrative_id)
            sightings = repo.latest_sightings(conn, narrative_id, STIX_SIGHTINGS)
            older = None
            if len(sightings) == STIX_SIGHTINGS:
                last = sightings[-1]
                older = repo.older_sightings(conn, narrative_id, (last["observed_at"], last["id"]))
            rebuttals = repo.narrative_rebuttals(conn, narrative_id, REBUTTALS)
        document = stix.bundle(
            **rows, sightings=sightings, older_sightings=older, rebuttals=rebuttals
        )
        return _send(document, media_type)


@blp.route("/narratives/<ref>/claimreview")
class NarrativeClaimReview(MethodView):
    @blp.requires("reader")
    @blp.response(200, ClaimReviewDocument, content_type=JSON_LD)
    @blp.doc(responses=_also_as_json("ClaimReviewDocument"))
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @negotiates
    def get(self, ref: str):
        """The narrative's rebuttals as schema.org ClaimReview (JSON-LD).

        Its latest 200 rebuttals, newest first, as ClaimReviews in one `@graph` (empty if it has
        none). The claim's appearances are its first sighting and its latest 10. The same
        document answers `GET /v1/narratives/{ref}` asked for `application/ld+json` or
        `?format=claimreview`."""
        return narrative_claimreview(ref, negotiate(JSON_LD, JSON))


def narrative_claimreview(ref: str, media_type: str):
    with db.connection() as conn:
        narrative_id = narrative_or_404(conn, ref)["id"]
        narrative = repo.narratives(conn, [narrative_id])[narrative_id]
        rebuttals = repo.narrative_rebuttals(conn, narrative_id, REBUTTALS)
        sightings = repo.appearances(conn, [narrative_id], APPEARANCES)[narrative_id]
    return _send(claimreview.narrative_document(narrative, rebuttals, sightings), media_type)


@blp.route("/rebuttals/<uuid:rebuttal_id>/claimreview")
class RebuttalClaimReview(MethodView):
    @blp.requires("reader")
    @blp.response(200, ClaimReviewDocument, content_type=JSON_LD)
    @blp.doc(responses=_also_as_json("ClaimReviewDocument"))
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @negotiates
    def get(self, rebuttal_id: uuid.UUID):
        """The rebuttal as schema.org ClaimReview (JSON-LD).

        One ClaimReview per narrative it answers (a ClaimReview reviews exactly one claim), in
        one `@graph`. The same document answers `GET /v1/rebuttals/{id}` asked for
        `application/ld+json` or `?format=claimreview`."""
        return rebuttal_claimreview(rebuttal_id, negotiate(JSON_LD, JSON))


def rebuttal_claimreview(rebuttal_id: uuid.UUID, media_type: str):
    with db.connection() as conn:
        rebuttal = rebuttals_repo.get(conn, rebuttal_id) or not_found("rebuttal", str(rebuttal_id))
        ids = [uuid.UUID(ref["id"]) for ref in rebuttal["narratives"]]
        narratives = repo.narratives(conn, ids)
        sightings = repo.appearances(conn, ids, APPEARANCES)
    ordered = [narratives[id_] for id_ in ids if id_ in narratives]
    return _send(claimreview.rebuttal_document(rebuttal, ordered, sightings), media_type)


@blp.route("/claimreview")
class ClaimReviewFeedView(MethodView):
    @blp.requires("reader")
    @blp.arguments(ClaimReviewFeedQuery, location="query", as_kwargs=True)
    @blp.response(
        200,
        ClaimReviewFeed,
        content_type=JSON_LD,
        headers={
            "Link": {
                "description": 'The next page, as `<url>; rel="next"`; absent on the last page.',
                "schema": {"type": "string"},
            }
        },
    )
    @blp.doc(responses=_also_as_json("ClaimReviewFeed"))
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @negotiates
    def get(self, limit: int, cursor: str | None = None):
        """Every rebuttal as ClaimReview: a schema.org DataFeed, newest published first.

        `limit` counts rebuttals: each gives one DataFeedItem per narrative it answers, except
        archived narratives, which the feed leaves out. The next page is in the `Link` header
        (`rel="next"`), with an opaque keyset cursor like every other list; the body stays a
        plain DataFeed."""
        media_type = negotiate(JSON_LD, JSON)
        after = pagination.decode("claimreview", cursor) if cursor else None
        with db.connection() as conn:
            rows = repo.rebuttal_page(conn, limit=limit, after=after)
            page = pagination.page("claimreview", rows, limit, "published_at")
            ids = list(
                dict.fromkeys(uuid.UUID(n["id"]) for r in page["items"] for n in r["narratives"])
            )
            narratives = repo.narratives(conn, ids, archived=False)
            sightings = repo.appearances(conn, list(narratives), APPEARANCES)
        feed = claimreview.data_feed(page["items"], narratives, sightings)
        headers = {}
        if page["next_cursor"]:
            query = urlencode({"limit": limit, "cursor": page["next_cursor"]})
            headers["Link"] = f'<{request.path}?{query}>; rel="next"'
        return _send(feed, media_type, headers)


def _send(document: dict[str, Any], media_type: str, headers: dict[str, str] | None = None):
    response = rows_response(document, headers=headers)
    response.headers["Content-Type"] = media_type
    return response
