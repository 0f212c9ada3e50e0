"""/v1/webhooks (admin): subscriptions to events, pushed by the worker, signed per Standard
Webhooks. Nothing here sends anything: the outbox is filled by the database in the same
transaction as each change (migrations/0012) and emptied by service/jobs/webhooks.py."""

import base64
import secrets
import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from psycopg import Connection

from service import db
from service.api.blueprint import Blueprint
from service.domain import targets
from service.domain.sender import message_id
from service.repo import narratives as narratives_repo
from service.repo import webhooks as repo
from service.schemas.webhooks import (
    DeliveryPage,
    DeliveryQuery,
    Redelivered,
    Rotated,
    RotateIn,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookPatch,
)
from service.web import auth, pagination
from service.web.problems import not_found, unprocessable

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1/webhooks",
    description="Signed HTTP callbacks for new sightings, rebuttals and narrative changes.",
)

_NO_STORE = {"Cache-Control": "no-store"}


def new_secret() -> str:
    """A Standard Webhooks secret: 32 random bytes, base64, prefixed `whsec_`."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@blp.route("")
class Webhooks(MethodView):
    @blp.requires("admin")
    @blp.response(200, WebhookList)
    def get(self):
        """Every subscription (secrets are never shown again)."""
        with db.connection() as conn:
            return {"items": repo.list_all(conn)}

    @blp.requires("admin")
    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookCreated)
    def post(self, data: dict[str, Any]):
        """Subscribe a URL. The response holds the signing secret; it cannot be read later."""
        _check_url(data["url"])
        secret = new_secret()
        with db.transaction() as conn:
            data["narrative_id"] = _narrative_id(conn, data.pop("narrative"))
            id_ = repo.insert(conn, data, secret=secret, by=auth.current_key_name())
            created = repo.get(conn, id_)
        headers = {**_NO_STORE, "Location": f"/v1/webhooks/{id_}"}
        return {**created, "secret": secret}, 201, headers


@blp.route("/<uuid:webhook_id>")
class WebhookById(MethodView):
    @blp.requires("admin")
    @blp.response(200, WebhookOut)
    def get(self, webhook_id: uuid.UUID):
        """One subscription, with why it was disabled if it was."""
        with db.connection() as conn:
            return repo.get(conn, webhook_id) or not_found("webhook", str(webhook_id))

    @blp.requires("admin")
    @blp.arguments(WebhookPatch)
    @blp.response(200, WebhookOut)
    def patch(self, changes: dict[str, Any], webhook_id: uuid.UUID):
        """Change the URL, events, filter, or switch it on or off (on again clears the
        failure streak)."""
        if "url" in changes:
            _check_url(changes["url"])
        with db.transaction() as conn:
            if repo.get(conn, webhook_id) is None:
                not_found("webhook", str(webhook_id))
            if "narrative" in changes:
                changes["narrative_id"] = _narrative_id(conn, changes.pop("narrative"))
            repo.update(conn, webhook_id, changes, by=auth.current_key_name())
            return repo.get(conn, webhook_id)

    @blp.requires("admin")
    @blp.response(204)
    def delete(self, webhook_id: uuid.UUID):
        """Unsubscribe; undelivered messages and the delivery log go with it."""
        with db.transaction() as conn:
            if not repo.delete(conn, webhook_id):
                not_found("webhook", str(webhook_id))


@blp.route("/<uuid:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.requires("admin")
    @blp.arguments(RotateIn)
    @blp.response(200, Rotated)
    def post(self, data: dict[str, Any], webhook_id: uuid.UUID):
        """A new secret, shown once. For `overlap_hours` every delivery carries two
        signatures (new and old), so a receiver can switch secrets without a gap."""
        secret = new_secret()
        with db.transaction() as conn:
            overlap = data["overlap_hours"] * 3600
            if not repo.rotate(conn, webhook_id, secret=secret, overlap_seconds=overlap):
                not_found("webhook", str(webhook_id))
            row = repo.get(conn, webhook_id)
        body = {"secret": secret, "previous_secret_expires_at": row["previous_secret_expires_at"]}
        return body, 200, _NO_STORE


@blp.route("/<uuid:webhook_id>/deliveries")
class Deliveries(MethodView):
    @blp.requires("admin")
    @blp.arguments(DeliveryQuery, location="query", as_kwargs=True)
    @blp.response(200, DeliveryPage)
    def get(self, webhook_id: uuid.UUID, limit: int, cursor: str | None = None):
        """Every delivery attempt, newest first: when, the answer's status, latency, error."""
        after = pagination.decode("webhook-deliveries", cursor) if cursor else None
        with db.connection() as conn:
            if repo.get(conn, webhook_id) is None:
                not_found("webhook", str(webhook_id))
            rows = repo.attempts_page(conn, webhook_id, limit=limit, after=after)
        for row in rows:
            row["message_id"] = message_id(row["message_id"])
        return pagination.page("webhook-deliveries", rows, limit, "attempted_at")


@blp.route("/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.requires("admin")
    @blp.response(202, Redelivered)
    def post(self, webhook_id: uuid.UUID, delivery_id: uuid.UUID):
        """Send that attempt's event again (same `webhook-id`, same body), with a fresh round
        of retries; the worker picks it up on its next round."""
        with db.transaction() as conn:
            queued = repo.redeliver(conn, webhook_id, delivery_id)
        if queued is None:
            not_found("delivery", str(delivery_id))
        return {**queued, "message_id": message_id(queued["id"])}, 202


def _check_url(url: str) -> None:
    allow = current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    try:
        targets.check(url, allow_private=allow)
    except targets.Refused as exc:
        unprocessable("url", str(exc))


def _narrative_id(conn: Connection, ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    narrative = narratives_repo.resolve(conn, ref)
    if narrative is None:
        unprocessable("narrative", f"No narrative matches '{ref}'.")
    return narrative["id"]
