"""/v1/audit (editor): who wrote what, when, with the row before and after."""

from typing import Any

from flask.views import MethodView

from service import db
from service.api.blueprint import Blueprint
from service.repo import audit as repo
from service.repo.pages import Page
from service.schemas.audit import AuditPage, AuditQuery
from service.web import auth
from service.web.pagination import paginated

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="The trail of every write.")


@blp.route("")
class AuditTrail(MethodView):
    @blp.requires("editor")
    @blp.arguments(AuditQuery, location="query", as_kwargs=True)
    @blp.response(200, AuditPage)
    @paginated("audit", "at", id_type=int, render=False)
    def get(self, page: Page, **filters: Any):
        """Every write to narratives, sightings, rebuttals and keys, newest first.

        Entries about API keys (names, roles, prefixes, who issued them) are for admins, as
        `/v1/keys` is: an editor asking for `resource=key` is refused, and an editor's
        unfiltered trail leaves them out."""
        if not auth.has_role("admin"):
            if filters.get("resource") == "key":
                auth.require("admin")
            filters["without_resource"] = "key"
        with db.connection() as conn:
            return repo.list_page(conn, page, **filters)
