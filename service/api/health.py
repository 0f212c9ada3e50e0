"""Liveness, readiness and metrics; no API key needed (metrics may take their own token)."""

import hmac

import psycopg
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import abort
from psycopg_pool import PoolTimeout

from service import db
from service.api.blueprint import Blueprint
from service.db import DatabaseUnavailable
from service.ops import migrate
from service.schemas.health import HealthOut
from service.web import metrics

blp = Blueprint("health", __name__, description="Liveness, readiness and metrics; no key needed.")


@blp.route("/healthz")
class Liveness(MethodView):
    @blp.response(200, HealthOut)
    def get(self):
        """Liveness: the process answers; the database is not consulted."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.response(200, HealthOut)
    @blp.alt_response(503, schema=HealthOut, description="Not ready: see `checks`.")
    def get(self):
        """Readiness: the database answers and every migration on disk is applied."""
        try:
            try:
                checks = _readiness()
            except (DatabaseUnavailable, PoolTimeout):
                raise
            except psycopg.OperationalError:
                # A pooled connection lent on trust may have been cut by a restart since it was
                # last used (service/db.py); its failure makes the next lend a checked one, so
                # the second answer is the database's, not a stale socket's. A known outage
                # (fail-fast) or a pool timeout is answered at once.
                checks = _readiness()
        except Exception:
            checks = {"database": "unavailable", "migrations": "unknown"}
        ready = all(value == "ok" for value in checks.values())
        return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _readiness() -> dict[str, str]:
    with db.connection() as conn:
        return {"database": "ok", "migrations": migrate.readiness(conn)}


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(
        200,
        content_type="text/plain",
        description="Prometheus text format: requests and latency by route and status, database "
        "pool usage, sightings ingested; summed over every worker.",
    )
    def get(self):
        """Prometheus metrics. With METRICS_TOKEN set, only `Authorization: Bearer <token>`."""
        token = current_app.config["METRICS_TOKEN"]
        if token:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                abort(
                    401,
                    message="Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.",
                    kind="unauthorized",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        return metrics.exposition()
