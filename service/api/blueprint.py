"""The Blueprint every resource uses.

- Unknown query parameters are an error, like unknown body fields, so a mistyped filter
  (`?langauge=ru`) fails loudly instead of returning everything.
- `@blp.arguments(SchemaClass)` loads with one instance made here, not one webargs would make
  for every request (a tenth of a millisecond each).
- `@blp.requires(role)` states the least role a view needs; it enforces it and documents the
  security requirement and the 401/403 answers in the OpenAPI document.
"""

import functools
from collections.abc import Callable
from typing import Any

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser

from service.web import auth, jsonio

BEARER = "bearerAuth"


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}  # defer to each schema's Meta.unknown (RAISE)

    def _raw_load_json(self, req):
        """The body as JSON, parsed strictly (jsonio.loads_request): invalid UTF-8, lone
        surrogates, numbers out of range, absurd nesting and repeated member names are all
        malformed JSON, a 400 (never a 500)."""
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return jsonio.loads_request(data)
        except jsonio.DuplicateKey as exc:
            flask_smorest.abort(400, message=str(exc), kind="malformed-json")
        except ValueError as exc:
            return self._handle_invalid_json_error(exc, req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def requires(self, role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Refuse callers below `role` (403) before the view parses anything."""
        if role not in auth.RANK:
            raise ValueError(f"unknown role {role!r}")

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                auth.require(role)
                return view(*args, **kwargs)

            guarded.required_role = role  # type: ignore[attr-defined]
            guarded = self.doc(security=[{BEARER: []}], **{"x-required-role": role})(guarded)
            guarded = self.alt_response(401, response="UNAUTHORIZED")(guarded)
            return self.alt_response(403, response="FORBIDDEN")(guarded)

        return decorator
