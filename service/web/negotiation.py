"""Content negotiation: which media type an answer is sent as (RFC 9110 section 12).

Most routes speak JSON only, and a client whose `Accept` rules JSON out gets a 406 problem
before the view runs. A view that offers other forms (ClaimReview, STIX) is marked
`@negotiates` and picks the form itself with `negotiate(...)`.
"""

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask_smorest import abort

JSON = "application/json"
# What every route can send: its JSON, or a problem about it.
_ALWAYS = (JSON, "application/problem+json")
# What most clients send (curl, browsers' fetch, HTTP libraries): JSON is acceptable, no parsing.
_PLAIN = frozenset({"*/*", JSON})


def negotiate(*offered: str) -> str:
    """The media type `Accept` prefers among those offered (the first when it names none); a
    406 problem when it accepts none of them."""
    if not request.headers.get("Accept"):
        return offered[0]
    chosen = request.accept_mimetypes.best_match(offered)
    if chosen is None:
        abort(
            406,
            message=f"This resource is available as {', '.join(offered)}.",
            kind="not-acceptable",
        )
    return chosen


def negotiates(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view method that chooses its own media type (the hook below leaves it alone)."""
    view.negotiates = True  # type: ignore[attr-defined]
    return view


def _refuse_unacceptable() -> None:
    """before_request: a JSON-only route asked for something else is a 406, at once."""
    accept = request.headers.get("Accept")
    if not accept or accept in _PLAIN or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, request.method.lower(), view) if view_class else view
    if getattr(method, "negotiates", False) or request.blueprint == "contract":
        return
    if request.accept_mimetypes.best_match(_ALWAYS) is None:
        negotiate(JSON)


def init_app(app: Flask) -> None:
    app.before_request(_refuse_unacceptable)
