"""/v1/keys (admin): issue, list, inspect and revoke API keys; /v1/me: who is calling."""

import uuid

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from service import db
from service.api.blueprint import Blueprint
from service.repo import keys as repo
from service.schemas.keys import KeyCreated, KeyIn, KeyList, KeyOut, Me
from service.web import auth
from service.web.problems import not_found

blp = Blueprint("keys", __name__, description="API keys and roles.")


@blp.route("/v1/keys")
class Keys(MethodView):
    @blp.requires("admin")
    @blp.response(200, KeyList)
    def get(self):
        """List every key, revoked ones included (secrets are never shown again)."""
        with db.connection() as conn:
            return {"items": repo.list_all(conn)}

    @blp.requires("admin")
    @blp.arguments(KeyIn)
    @blp.response(201, KeyCreated)
    def post(self, data):
        """Issue a key. The response holds the secret; it cannot be retrieved later."""
        with db.transaction() as conn:
            created = auth.issue(
                conn, name=data["name"], role=data["role"], by=auth.current_key_name()
            )
        # The secret must not linger in any cache between here and the admin.
        headers = {"Location": f"/v1/keys/{created['id']}", "Cache-Control": "no-store"}
        return created, 201, headers


@blp.route("/v1/keys/<uuid:key_id>")
class KeyById(MethodView):
    @blp.requires("admin")
    @blp.response(200, KeyOut)
    def get(self, key_id: uuid.UUID):
        """One key."""
        with db.connection() as conn:
            return repo.get(conn, key_id) or not_found("key", str(key_id))

    @blp.requires("admin")
    @blp.response(200, KeyOut)
    def delete(self, key_id: uuid.UUID):
        """Revoke a key: it stops working at once; its name stays reserved as provenance.
        A key cannot revoke itself (an admin would lock themselves out by mistake)."""
        if g.api_key["id"] == key_id:
            abort(
                409, message="A key cannot revoke itself; use another admin key.", kind="conflict"
            )
        with db.transaction(attributed=True) as conn:
            revoked = repo.revoke(conn, key_id) or not_found("key", str(key_id))
        auth.forget(key_id)
        return revoked


@blp.route("/v1/me")
class CurrentKey(MethodView):
    @blp.requires("reader")
    @blp.response(200, Me)
    def get(self):
        """The calling key's name and role."""
        return {"name": g.api_key["name"], "role": g.api_key["role"]}
