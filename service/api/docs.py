"""The contract as YAML, and the Swagger UI assets, served from the installed package: /docs
must work with no internet access."""

from flask import Blueprint, Flask, Response, current_app, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from service import spec

blp = Blueprint("contract", __name__)
_RENDERED = "narratives.openapi_yaml"


def attach(app: Flask, api: Api) -> None:
    app.extensions[_RENDERED] = spec.render(api.spec.to_dict())


@blp.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(current_app.extensions[_RENDERED], mimetype="application/yaml")


@blp.get("/docs/assets/<path:filename>")
def swagger_assets(filename: str) -> Response:
    response = send_from_directory(str(swagger_ui_path), filename, max_age=86400)
    return response
