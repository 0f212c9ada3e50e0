"""GET /v1/narratives/{ref}/stix: every demo narrative's bundle parses with the OASIS stix2
library, passes stix2-validator and the OASIS JSON schemas object by object, is the same bytes
when exported twice, and survives misp-stix's conversion into a MISP event with its rebuttals.
All offline: `no_network` fails any test that reaches past loopback."""

import json
from collections import Counter
from functools import cache

import pytest
import stix2
from jsonschema import Draft202012Validator
from misp_stix_converter import ExternalSTIX2toMISPParser
from misp_stix_converter.tools.stix2_loading_helpers import load_stix2_content
from referencing import Registry, Resource
from stix2 import properties
from stix2validator import ValidationOptions, validate_instance

from service.api import exports as exports_api
from service.formats import stix
from tests.exports_support import DEMO_SLUGS, STANDARDS, load_demo, no_network  # noqa: F401
from tests.factories import create_narrative, sighting_body
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("no_network")

SCHEMAS = STANDARDS / "stix2.1" / "schemas"
SCHEMA_OF = {
    "identity": "sdos/identity.json",
    "note": "sdos/note.json",
    "report": "sdos/report.json",
    "sighting": "sros/sighting.json",
    "relationship": "sros/relationship.json",
    "extension-definition": "common/extension-definition.json",
    # A new SDO has no schema upstream: it must still be a valid STIX core object.
    stix.NARRATIVE_TYPE: "common/core.json",
}


@stix2.v21.CustomObject(
    stix.NARRATIVE_TYPE,
    [
        ("name", properties.StringProperty(required=True)),
        ("description", properties.StringProperty()),
        ("aliases", properties.ListProperty(properties.StringProperty)),
        ("narrative_types", properties.ListProperty(properties.StringProperty)),
    ],
    extension_name=stix.EXTENSION_ID,
)
class Narrative:
    """The narrative SDO as a consumer would register it, through our extension definition."""


@pytest.fixture
def demo_data(conn):
    return load_demo(conn)


@cache
def oasis_validator(relative: str) -> Draft202012Validator:
    registry = Registry().with_resources(
        (path.as_uri(), Resource.from_contents(json.loads(path.read_text("utf-8"))))
        for path in SCHEMAS.rglob("*.json")
    )
    return Draft202012Validator({"$ref": (SCHEMAS / relative).as_uri()}, registry=registry)


def export(client, ref: str, **headers):
    response = client.get(f"/v1/narratives/{ref}/stix", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def by_type(bundle: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for obj in bundle["objects"]:
        found.setdefault(obj["type"], []).append(obj)
    return found


@pytest.mark.parametrize("slug", DEMO_SLUGS)
def test_demo_bundle_is_valid_stix(client_for, demo_data, slug):
    response = export(client_for("reader"), slug)
    bundle = response.get_json()

    assert response.mimetype == "application/stix+json"
    assert response.headers["Content-Type"] == stix.MEDIA_TYPE
    parsed = stix2.parse(bundle, allow_custom=False)
    assert isinstance(parsed.objects[2], Narrative)
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid and not result.errors, [str(e) for e in result.errors]
    for obj in bundle["objects"]:
        errors = list(oasis_validator(SCHEMA_OF[obj["type"]]).iter_errors(obj))
        assert not errors, (obj["id"], [e.message for e in errors])


@pytest.mark.parametrize("slug", DEMO_SLUGS)
def test_demo_bundle_holds_the_narrative_its_sightings_and_rebuttals(client, demo_data, slug):
    narrative = client.get(f"/v1/narratives/{slug}").get_json()
    rebuttals = client.get(f"/v1/narratives/{slug}/rebuttals?limit=200").get_json()["items"]

    bundle = export(client, slug).get_json()

    objects = by_type(bundle)
    ids = [o["id"] for o in bundle["objects"]]
    assert len(ids) == len(set(ids))
    me = objects["narrative"][0]
    assert me["name"] == narrative["title"]
    assert me["aliases"] == [a["text"] for a in narrative["aliases"]]
    assert me["extensions"] == {stix.EXTENSION_ID: {"extension_type": "new-sdo"}}
    assert objects["extension-definition"][0]["extension_types"] == ["new-sdo"]
    sightings = objects.get("sighting", [])
    assert sum(s["count"] for s in sightings) == narrative["sighting_count"]
    assert {s["sighting_of_ref"] for s in sightings} <= {me["id"]}
    identities = {o["id"] for o in objects["identity"]}
    assert all(set(s["where_sighted_refs"]) <= identities for s in sightings)
    (report,) = objects["report"]
    assert set(report["object_refs"]) == set(ids) - {report["id"]}
    notes = objects.get("note", [])
    assert len(notes) == len(rebuttals) == narrative["rebuttal_count"]
    assert {n["content"] for n in notes} == {r["statement"] for r in rebuttals}
    assert {n["external_references"][0]["url"] for n in notes} == {r["url"] for r in rebuttals}
    assert all(n["object_refs"] == [me["id"], report["id"]] for n in notes)
    assert all(n["created_by_ref"] in identities for n in notes)
    every_object = {o["id"]: o for o in bundle["objects"]}
    for obj in bundle["objects"]:
        assert obj.get("created_by_ref", stix.SERVICE_ID) in every_object


def test_sub_narratives_are_relationships_to_the_parent(client, demo_data):
    parent = export(client, "ukrainian-involvement").get_json()
    child = export(client, "ukrainian-window").get_json()

    def links(bundle):
        names = {o["id"]: o["name"] for o in by_type(bundle)["narrative"]}
        return {
            (names[r["source_ref"]], r["relationship_type"], names[r["target_ref"]])
            for r in by_type(bundle).get("relationship", [])
        }

    involvement = "Ukraine was behind the Crocus City Hall attack"
    assert ("Ukrainian window", "subnarrative-of", involvement) in links(parent)
    assert len(links(parent)) == 2  # both demo children
    assert links(child) == {("Ukrainian window", "subnarrative-of", involvement)}


@pytest.mark.parametrize("slug", DEMO_SLUGS)
def test_exporting_twice_gives_the_same_bytes(client, demo_data, slug):
    first = export(client, slug).get_data()
    second = export(client, slug).get_data()

    assert first == second


def test_ids_come_from_our_ids_not_from_the_moment(client, conn, demo_data):
    narrative_id = demo_data["narratives"]["ukrainian-window"]
    before = export(client, "ukrainian-window").get_json()
    conn.execute("UPDATE narratives SET title = 'Ukrainian window (edited)'")

    after = export(client, narrative_id).get_json()

    assert [o["id"] for o in after["objects"]] == [o["id"] for o in before["objects"]]
    assert after["id"] != before["id"]  # another content, another bundle
    assert by_type(after)["narrative"][0]["id"] == stix.narrative_id(narrative_id)


@pytest.mark.parametrize("slug", DEMO_SLUGS)
def test_misp_stix_turns_the_bundle_into_an_event_that_keeps_the_rebuttals(client, demo_data, slug):
    bundle = export(client, slug).get_data(as_text=True)
    statements = {n["content"] for n in by_type(json.loads(bundle)).get("note", [])}

    parser = ExternalSTIX2toMISPParser()
    parser.load_stix_bundle(load_stix2_content(bundle))
    parser.parse_stix_bundle(single_event=True)
    event = json.loads(parser.misp_event.to_json())

    assert event["info"].startswith("Narrative: ")
    assert {note["note"] for note in event.get("Note", [])} == statements


def test_a_busy_narrative_is_bounded_with_a_summary_sighting(client, conn, monkeypatch):
    monkeypatch.setattr(exports_api, "STIX_SIGHTINGS", 3)
    narrative = create_narrative(client)
    days = [f"2024-03-{day:02d}T12:00:00Z" for day in range(1, 9)]
    batch = [sighting_body(narrative["slug"], observed_at=day) for day in days]
    assert client.post("/v1/sightings", json={"sightings": batch}).status_code == 200

    bundle = export(client, narrative["slug"]).get_json()

    sightings = by_type(bundle)["sighting"]
    single = [s for s in sightings if not s.get("summary")]
    (summary,) = [s for s in sightings if s.get("summary")]
    assert sorted(s["first_seen"] for s in single) == days[-3:]
    assert (summary["count"], summary["first_seen"], summary["last_seen"]) == (5, days[0], days[4])
    assert sum(s["count"] for s in sightings) == len(days)
    assert validate_instance(bundle, ValidationOptions(version="2.1")).is_valid


def test_false_positives_are_not_exported(client, conn, demo_data):
    conn.execute(
        "UPDATE sightings SET status = 'false_positive' WHERE narrative_id = %(id)s",
        {"id": demo_data["narratives"]["who-ordered-it"]},
    )

    objects = by_type(export(client, "who-ordered-it").get_json())

    assert "sighting" not in objects


def test_plain_json_when_asked_and_406_for_what_it_cannot_send(client, demo_data):
    as_json = export(client, "false-flag", Accept="application/json")
    refused = client.get("/v1/narratives/false-flag/stix", headers={"Accept": "text/csv"})

    assert as_json.headers["Content-Type"] == "application/json"
    assert as_json.get_data() == export(client, "false-flag").get_data()
    assert_problem(refused, 406, "not-acceptable")


def test_unknown_narrative_is_404(client, demo_data):
    assert_problem(client.get("/v1/narratives/no-such-narrative/stix"), 404, "not-found")


def test_a_key_is_needed(anon_client, demo_data):
    assert_problem(anon_client.get("/v1/narratives/false-flag/stix"), 401)


def test_every_export_needs_only_the_reader_role(app):
    """Reader is the lowest role, so no key can be refused with 403 here; what a test can hold
    is that the routes ask for exactly that role (and so that a reader is served, above)."""
    views = {
        rule.rule: app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("exports.")
    }

    assert set(views) == {
        "/v1/narratives/<ref>/stix",
        "/v1/narratives/<ref>/claimreview",
        "/v1/rebuttals/<uuid:rebuttal_id>/claimreview",
        "/v1/claimreview",
    }
    roles = Counter(
        view.view_class.get.required_role  # type: ignore[attr-defined]
        for view in views.values()
    )
    assert roles == Counter({"reader": 4})
