"""Per-key rate limits: RATE_LIMIT_PER_MINUTE requests per key per calendar minute (0 turns it
off), counted in PostgreSQL so the limit holds across gunicorn workers and API replicas. Over
the limit: 429 problem+json with Retry-After; every answer to a keyed request carries
RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset."""

from flask import Flask, Response, current_app, g
from flask_smorest import abort

from service import db
from service.repo import ratelimit as repo


def check() -> None:
    """before_request, after authentication."""
    limit = current_app.config["RATE_LIMIT_PER_MINUTE"]
    key = g.get("api_key")
    if not limit or key is None:
        return
    with db.connection() as conn:
        window = repo.hit(conn, key["name"])
    reset_in = max(1, window["reset_in"])
    g.rate_limit = (limit, max(0, limit - window["hits"]), reset_in)
    if window["hits"] > limit:
        abort(
            429,
            message=f"The key '{key['name']}' may make {limit} requests a minute; "
            f"retry in {reset_in} s.",
            kind="rate-limited",
            headers={"Retry-After": str(reset_in)},
        )


def _headers(response: Response) -> Response:
    state = g.get("rate_limit")
    if state:
        limit, remaining, reset_in = state
        response.headers["RateLimit-Limit"] = str(limit)
        response.headers["RateLimit-Remaining"] = str(remaining)
        response.headers["RateLimit-Reset"] = str(reset_in)
    return response


def init_app(app: Flask) -> None:
    app.before_request(check)
    app.after_request(_headers)
