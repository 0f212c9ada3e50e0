"""The contract (YAML and JSON), and a Swagger UI page over it, served from the installed
package: /docs must work with no internet access.

The page is ours rather than flask-smorest's so that it runs no inline script: its start-up
code is a file of its own, and a strict Content-Security-Policy (scripts and styles from this
origin only, no framing) holds on the page. Every route here is in the OpenAPI document too.
"""

from typing import Any

from flask import Blueprint, Flask, Response, current_app, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from service.api import spec
from service.web import jsonio
from service.web.problems import PROBLEM_JSON

blp = Blueprint("contract", __name__)
_TAG = "contract"

# Swagger UI sets style attributes from script, hence 'unsafe-inline' for styles alone; it
# draws a few icons as data: images and fetches the contract from this origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link href="/docs/assets/swagger-ui.css" rel="stylesheet" type="text/css">
</head>
<body>
  <div id="swagger-ui-container"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui-container"});
};
"""

# The routes below by view name, as the OpenAPI document describes them.
_ROUTES: dict[str, tuple[str, str]] = {
    "openapi_yaml": ("application/yaml", "This OpenAPI document, as YAML."),
    "openapi_json": ("application/json", "This OpenAPI document, as JSON."),
    "docs_page": ("text/html", "A Swagger UI page over this document."),
    "docs_init": ("text/javascript", "The docs page's start-up script."),
    "swagger_assets": (
        "application/octet-stream",
        "Swagger UI's own files (scripts, styles), from the installed package.",
    ),
}


def attach(app: Flask, api: Api) -> None:
    """Document this blueprint's routes, then render the finished document once."""
    for rule in app.url_map.iter_rules():
        blueprint, _, view = rule.endpoint.partition(".")
        if blueprint != blp.name:
            continue
        media_type, summary = _ROUTES[view]
        operation: dict[str, Any] = {
            "tags": [_TAG],
            "summary": summary,
            "operationId": view,
            "responses": {"200": {"description": "OK", "content": {media_type: {}}}},
        }
        if rule.arguments:
            operation["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in sorted(rule.arguments)
            ]
            operation["responses"]["404"] = {
                "description": "No such file.",
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        api.spec.path(rule=rule, operations={"get": operation})
    api.spec.tag({"name": _TAG, "description": "The contract and its documentation."})
    document = api.spec.to_dict()
    app.extensions[spec.EXTENSION] = (spec.render(document), jsonio.dumps_bytes(document))


@blp.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(current_app.extensions[spec.EXTENSION][0], mimetype="application/yaml")


@blp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(current_app.extensions[spec.EXTENSION][1], mimetype="application/json")


@blp.get("/docs")
def docs_page() -> Response:
    page = _PAGE.format(title=current_app.config["API_TITLE"])
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@blp.get("/docs/init.js")
def docs_init() -> Response:
    return Response(_INIT, mimetype="text/javascript")


@blp.get("/docs/assets/<path:filename>")
def swagger_assets(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
