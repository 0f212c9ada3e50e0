"""The request pipeline: what every request goes through before and after its view.

`init_app` registers the hooks in the order a request meets them. Flask runs `before_request`
hooks in registration order and `after_request` hooks in reverse, so the list below reads top
down on the way in and bottom up on the way out:

  in:  request id (so every later problem carries one) -> who is calling (401) -> how often
       (429) -> what they sent (413, 415) -> what they accept (406) -> the view (idempotency and JSON parsing are
       per view: `@idempotent`, `@blp.arguments`, `body.json_body()`)
  out: ETag (or 304, so the log and metrics see the status sent) -> access line -> metrics ->
       rate-limit headers -> id, content and cache policy headers

Failures anywhere become RFC 9457 problems (`problems`), and JSON goes out through orjson
(`jsonio`).
"""

from flask import Flask

from service.web import (
    access,
    auth,
    body,
    conditional,
    context,
    jsonio,
    metrics,
    negotiation,
    problems,
    ratelimit,
)


def init_app(app: Flask) -> None:
    jsonio.init_app(app)
    problems.init_app(app)
    context.init_app(app)
    auth.init_app(app)
    ratelimit.init_app(app)
    body.init_app(app)
    negotiation.init_app(app)
    metrics.init_app(app)
    access.init_app(app)
    conditional.init_app(app)
