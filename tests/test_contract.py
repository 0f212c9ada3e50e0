"""The contract: openapi.yaml is generated from the code, committed, valid, and served; /docs
works offline."""

import re

import yaml
from openapi_spec_validator import validate

from service.api import spec
from tests import factories


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


def test_no_schema_is_built_per_request(client, monkeypatch):
    """Building a marshmallow schema deep-copies its fields and those of its nested schemas:
    every schema a request loads or dumps with is built once. Mutations that fail this: hand
    webargs the class in `@blp.arguments` (a query schema per request), or dump a created
    sighting with `SightingCreated()` (five schemas per POST)."""
    import marshmallow

    narrative = factories.create_narrative(client)["slug"]
    requests = [
        lambda n: client.get("/v1/sightings?limit=5"),
        lambda n: client.get(f"/v1/narratives/{narrative}/sightings?limit=5"),
        lambda n: client.post(
            "/v1/sightings",
            json=factories.sighting_body(narrative, url=f"https://example.org/one/{n}"),
        ),
        lambda n: client.post(
            "/v1/sightings",
            json={
                "sightings": [
                    factories.sighting_body(narrative, url=f"https://example.org/b/{n}/{i}")
                    for i in range(3)
                ]
            },
        ),
    ]
    for request in requests:  # the first request of a kind may build what it then keeps
        assert request(0).status_code < 300

    made = []
    original = marshmallow.Schema.__init__
    monkeypatch.setattr(
        marshmallow.Schema,
        "__init__",
        lambda self, *a, **k: made.append(type(self).__name__) or original(self, *a, **k),
    )
    for n in (1, 2):
        for request in requests:
            assert request(n).status_code < 300

    assert made == []
