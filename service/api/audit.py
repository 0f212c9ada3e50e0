"""/v1/audit (editor): who wrote what, when, with the row before and after."""

from typing import Any

from flask.views import MethodView

from service import db
from service.api.blueprint import Blueprint
from service.repo import audit as repo
from service.schemas.audit import AuditPage, AuditQuery
from service.web import auth, pagination

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="The trail of every write.")


@blp.route("")
class AuditTrail(MethodView):
    @blp.requires("editor")
    @blp.arguments(AuditQuery, location="query", as_kwargs=True)
    @blp.response(200, AuditPage)
    def get(self, limit: int, cursor: str | None = None, **filters: Any):
        """Every write to narratives, sightings, rebuttals and keys, newest first.

        Entries about API keys (names, roles, prefixes, who issued them) are for admins, as
        `/v1/keys` is: an editor asking for `resource=key` is refused, and an editor's
        unfiltered trail leaves them out."""
        if not auth.has_role("admin"):
            if filters.get("resource") == "key":
                auth.require("admin")
            filters["without_resource"] = "key"
        after = pagination.decode("audit", cursor, int) if cursor else None
        with db.connection() as conn:
            rows = repo.list_page(conn, limit=limit, after=after, **filters)
        return pagination.page("audit", rows, limit, "at")
