"""The contract: openapi.yaml is generated from the code, committed, valid, and served; /docs
works offline."""

import re

import yaml
from openapi_spec_validator import validate

from service.api import spec


def test_committed_openapi_matches_the_code(app):
    """Fails when a route or schema changed without `make openapi`."""
    committed = spec.COMMITTED.read_text("utf-8")

    assert app.extensions[spec.EXTENSION][0] == committed, "run `make openapi`"


def test_openapi_is_a_valid_openapi_3_1_document():
    document = yaml.safe_load(spec.COMMITTED.read_text("utf-8"))

    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_design_path_is_documented():
    paths = yaml.safe_load(spec.COMMITTED.read_text("utf-8"))["paths"]
    expected = {
        "/v1/narratives": {"get", "post"},
        "/v1/narratives/{ref}": {"get", "patch", "delete"},
        "/v1/narratives/{ref}/sightings": {"get"},
        "/v1/narratives/{ref}/rebuttals": {"get"},
        "/v1/sightings": {"get", "post"},
        "/v1/sightings/{sighting_id}": {"get", "patch"},
        "/v1/rebuttals": {"get", "post"},
        "/v1/rebuttals/{rebuttal_id}": {"get", "patch", "delete"},
        "/healthz": {"get"},
        "/readyz": {"get"},
    }

    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path


def test_errors_are_documented_as_problem_json():
    document = yaml.safe_load(spec.COMMITTED.read_text("utf-8"))

    default = document["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(default) == ["application/problem+json"]


def test_served_yaml_is_the_committed_file(client):
    response = client.get("/openapi.yaml")

    assert response.status_code == 200
    assert response.content_type.startswith("application/yaml")
    assert response.get_data(as_text=True) == spec.COMMITTED.read_text("utf-8")


def test_docs_page_loads_only_local_assets(client):
    page = client.get("/docs")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the page should load Swagger UI"
    for source in sources:
        assert source.startswith("/docs/"), f"{source} would need the internet"
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.data) > 100, source


def test_argument_schemas_are_made_once_not_per_request(client, monkeypatch):
    """`@blp.arguments(SchemaClass)` loads with one instance (mutation: hand webargs the class,
    and it builds a schema for every request)."""
    from service.schemas.sightings import SightingQuery

    made = []
    original = SightingQuery.__init__
    monkeypatch.setattr(
        SightingQuery, "__init__", lambda self, *a, **k: made.append(1) or original(self, *a, **k)
    )
    for _ in range(3):
        assert client.get("/v1/sightings?limit=5").status_code == 200

    assert made == []
