"""List pages are written straight from rows (service.web.jsonio.rows_response) rather than dumped
field by field through marshmallow: these tests hold that output equal to what the documented
schemas would produce, for every list and the batch result."""

import json

import pytest

from service.schemas.narratives import NarrativePage
from service.schemas.rebuttals import RebuttalPage
from service.schemas.sightings import SightingBatchOut, SightingPage
from tests.factories import create_narrative, create_rebuttal, create_sighting, sighting_body


@pytest.fixture
def world(client):
    parent = create_narrative(client, slug="ukrainian-involvement")
    create_narrative(client, slug="ukrainian-window", parent=parent["slug"])
    create_sighting(
        client,
        "ukrainian-window",
        observed_at="2024-03-26T12:00:00.123456+03:00",
        confidence=0.9,
        external_id="ext-1",
    )
    create_sighting(client, "ukrainian-window", actor=None, country=None, quote=None)
    create_rebuttal(client, ["ukrainian-window", "ukrainian-involvement"])
    create_rebuttal(
        client,
        ["ukrainian-window"],
        issuer={"name": "X", "role": None, "organization": None, "country": None, "kind": "media"},
    )


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/v1/narratives", NarrativePage),
        ("/v1/sightings", SightingPage),
        ("/v1/narratives/ukrainian-window/sightings", SightingPage),
        ("/v1/rebuttals", RebuttalPage),
        ("/v1/narratives/ukrainian-window/rebuttals", RebuttalPage),
    ],
)
def test_pages_equal_the_schema_dump(client, world, path, schema):
    page = client.get(path + "?limit=1").get_json()
    assert page["items"] and page["next_cursor"]

    through_schema = json.loads(json.dumps(schema().dump(schema().load(page))))

    assert page == through_schema
    assert set(page["items"][0]) == set(schema._declared_fields["items"].inner.schema.fields)


def test_timestamps_and_uuids_render_as_the_schemas_do(client, world):
    items = client.get("/v1/sightings").get_json()["items"]
    with_micros = next(s for s in items if s["external_id"] == "ext-1")

    assert with_micros["observed_at"] == "2024-03-26T09:00:00.123456Z"
    assert with_micros["confidence"] == 0.9
    assert with_micros["created_at"].endswith("Z")


def test_batch_result_equals_the_schema_dump(client, world):
    items = [sighting_body("ukrainian-window"), {"bad": 1}]

    body = client.post("/v1/sightings", json={"sightings": items}).get_json()

    assert body == SightingBatchOut().dump(body)
    assert set(body["results"][1]) == {"index", "status", "errors"}


def test_where_a_sighting_was_reported_renders_as_the_schema_does(client, world):
    dw = {"url": "https://www.dw.com/en/a-68671023", "name": "DW"}
    create_sighting(client, "ukrainian-window", reported_in=dw)
    create_sighting(client, "ukrainian-window", reported_in={"name": "TASS"})

    page = client.get("/v1/sightings").get_json()

    assert page == json.loads(json.dumps(SightingPage().dump(SightingPage().load(page))))
    reports = [s["reported_in"] for s in page["items"]]
    assert dw in reports and {"url": None, "name": "TASS"} in reports and None in reports
