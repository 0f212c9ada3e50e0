"""Bad request bodies, at every write endpoint: malformed JSON, bodies not sent as JSON, wrong
types and formats, unknown fields, caps, NUL bytes, enumerations, slugs and references to other
narratives. Always an RFC 9457 problem+json document with the right status and the offending field
named, never a 500, and never a partial write."""

# ruff: noqa: RUF001 (Cyrillic test data)

import copy
import json
from typing import Any

import pytest

from tests.factories import create_narrative, narrative_body, rebuttal_body, sighting_body
from tests.problems import BAD_URL, MISSING, assert_problem, snapshot


def with_value(body: dict, dotted: str, value: Any) -> dict:
    """A copy of `body` with the field at `dotted` (e.g. "aliases.0.text") set to `value`."""
    body = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return body


def target(world, resource: str, method: str) -> tuple[str, dict]:
    """The path and a fully valid body for a write; a PATCH sends a complete set of new values,
    so a partly applied request would show up in the snapshot."""
    slug = world["narrative"]["slug"]
    body = {
        "narratives": narrative_body(),
        "sightings": sighting_body(slug),
        "rebuttals": rebuttal_body([slug]),
    }[resource]
    if method == "POST":
        return f"/v1/{resource}", body
    ident = {"narratives": slug, "sightings": world["sighting"]["id"]}.get(resource)
    return f"/v1/{resource}/{ident or world['rebuttal']['id']}", body


def field_cases(rows, methods=("POST", "PATCH")):
    """(resource, field, value[, error key]) rows, each run against POST and PATCH."""
    return [
        pytest.param(
            method,
            resource,
            field,
            value,
            key or field,
            id=f"{method}-{resource}-{field}-{value!r:.16}",
        )
        for resource, field, value, key in (row if len(row) == 4 else (*row, None) for row in rows)
        for method in methods
    ]


def write_refused(client, conn, world, method, resource, field, value, key):
    path, body = target(world, resource, method)
    before = snapshot(conn)
    response = client.open(path, method=method, json=with_value(body, field, value))
    assert_problem(response, 422, "validation", errors=key)
    assert snapshot(conn) == before
    return response.get_json()


WRITES = [("POST", "narratives"), ("PATCH", "narratives"), ("POST", "sightings")]
WRITES += [("PATCH", "sightings"), ("POST", "rebuttals"), ("PATCH", "rebuttals")]
WRITE_IDS = [f"{method}-{resource}" for method, resource in WRITES]


# 1. Bodies that are not JSON, or not a JSON object


@pytest.mark.parametrize(("method", "resource"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("data", ["{bad", b"\xff\xfe{\x80}"], ids=["syntax", "not-utf8"])
def test_malformed_json_is_400(client, conn, world, method, resource, data):
    path, _ = target(world, resource, method)
    before = snapshot(conn)
    response = client.open(path, method=method, data=data, content_type="application/json")
    body = assert_problem(response, 400, "malformed-json")
    assert "errors" not in body
    assert snapshot(conn) == before


@pytest.mark.parametrize(("method", "resource"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("data", ["[]", '["title"]', '"title"', "null", "42", "true"])
def test_json_that_is_not_an_object_is_422(client, conn, world, method, resource, data):
    path, _ = target(world, resource, method)
    before = snapshot(conn)
    response = client.open(path, method=method, data=data, content_type="application/json")
    assert assert_problem(response, 422, "validation")["errors"]
    assert snapshot(conn) == before


@pytest.mark.parametrize(("method", "resource"), WRITES[::3], ids=WRITE_IDS[::3])
def test_deeply_nested_json_is_a_client_error(client, world, method, resource):
    path, _ = target(world, resource, method)
    data = "[" * 100_000 + "]" * 100_000
    response = client.open(path, method=method, data=data, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


# 2. Bodies that are not sent as JSON


@pytest.mark.parametrize(("method", "resource"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_that_is_not_json_is_415(client, conn, world, method, resource, content_type):
    path, body = target(world, resource, method)
    before = snapshot(conn)
    response = client.open(path, method=method, data=json.dumps(body), content_type=content_type)
    assert_problem(response, 415, "unsupported-media-type")
    assert snapshot(conn) == before


# 3-6. Field by field: wrong types and formats, unknown fields, caps, NUL, enumerations

WRONG_TYPES = [
    ("narratives", "title", 123),
    ("narratives", "title", True),
    ("narratives", "summary", ["a"]),
    ("narratives", "keywords", "window"),
    ("narratives", "tags", {"a": 1}),
    ("narratives", "aliases", "x"),
    ("narratives", "aliases.0.language", 5),
    ("narratives", "parent", 5),
    ("sightings", "narrative", 5),
    ("sightings", "url", 5),
    ("sightings", "observed_at", "yesterday"),
    ("sightings", "observed_at", 1711454400),
    ("sightings", "observed_at", "2024-03-26T12:00:00"),  # no offset
    ("sightings", "observed_at", "1800-01-01T00:00:00Z"),
    ("sightings", "confidence", 1.5),
    ("sightings", "confidence", -0.1),
    ("sightings", "confidence", "high"),
    ("sightings", "confidence", True),
    ("sightings", "language", "english"),
    ("sightings", "country", "RUS"),
    ("sightings", "url", "ftp://outlet.example/x"),
    ("rebuttals", "narratives", "narrative-1"),
    ("rebuttals", "statement", ["a"]),
    ("rebuttals", "published_at", "2024-03-26T12:00:00"),
    ("rebuttals", "published_at", "26/03/2024"),
    ("rebuttals", "issuer.country", "Ukraine"),
    ("rebuttals", "url", "not a url"),
]


@pytest.mark.parametrize(("method", "resource", "field", "value", "key"), field_cases(WRONG_TYPES))
def test_wrong_type_is_422_on_the_field(client, conn, world, method, resource, field, value, key):
    write_refused(client, conn, world, method, resource, field, value, key)


NESTED_AS_STRING = [
    ("sightings", "source", "SHOT"),
    ("sightings", "actor", "Patrushev"),
    ("rebuttals", "issuer", "Podolyak"),
    ("narratives", "aliases.0", "украинский след"),
]


@pytest.mark.parametrize(
    ("method", "resource", "field", "value", "key"), field_cases(NESTED_AS_STRING, ("POST",))
)
def test_nested_object_given_a_string_names_the_field(
    client, conn, world, method, resource, field, value, key
):
    write_refused(client, conn, world, method, resource, field, value, key)


UNKNOWN_FIELDS = [
    ("narratives", "extra", 1),
    ("narratives", "aliases.0.extra", 1),
    ("sightings", "extra", 1),
    ("sightings", "source.extra", 1),
    ("sightings", "actor.extra", 1),
    ("rebuttals", "extra", 1),
    ("rebuttals", "issuer.extra", 1),
]


@pytest.mark.parametrize(
    ("method", "resource", "field", "value", "key"),
    [*field_cases(UNKNOWN_FIELDS), *field_cases([("sightings", "status", "confirmed")], ("POST",))],
)
def test_unknown_field_is_422(client, conn, world, method, resource, field, value, key):
    body = write_refused(client, conn, world, method, resource, field, value, key)
    assert body["errors"][key] == ["Unknown field."]


TOO_LONG_OR_EMPTY = [
    ("narratives", "title", "t" * 201),
    ("narratives", "title", ""),
    ("narratives", "title", None),
    ("narratives", "slug", "s" * 101),
    ("narratives", "slug", ""),
    ("narratives", "summary", "s" * 5001),
    ("narratives", "aliases.0.text", "a" * 301),
    ("narratives", "aliases.0.text", ""),
    ("narratives", "keywords", ["k" * 101], "keywords.0"),
    ("narratives", "keywords", [""], "keywords.0"),
    # The tag cap is 100 (Slug; openapi.yaml says maxLength 100), not 64.
    ("narratives", "tags", ["t" * 101], "tags.0"),
    ("narratives", "title", "Ukrainian\u0000window"),
    ("narratives", "aliases.0.text", "украинский\u0000след"),
    ("sightings", "quote", "q" * 10001),
    ("sightings", "quote", "Конечно,\u0000Украина"),
    ("sightings", "url", "https://outlet.example/" + "a" * (2049 - 23)),
    ("sightings", "source.name", "s" * 201),
    ("sightings", "source.name", ""),
    ("sightings", "narrative", ""),
    ("sightings", "language", ""),
    ("rebuttals", "statement", "s" * 20001),
    ("rebuttals", "statement", ""),
    ("rebuttals", "statement", "The lies\u0000are spread."),
    ("rebuttals", "url", "https://statements.example/" + "a" * (2049 - 27)),
    ("rebuttals", "issuer.name", "n" * 201),
    ("rebuttals", "issuer.name", ""),
    ("rebuttals", "narratives", ["n" * 101], "narratives.0"),
]


@pytest.mark.parametrize(
    ("method", "resource", "field", "value", "key"), field_cases(TOO_LONG_OR_EMPTY)
)
def test_string_over_cap_empty_or_with_nul_is_422(
    client, conn, world, method, resource, field, value, key
):
    write_refused(client, conn, world, method, resource, field, value, key)


BAD_ENUMS = [
    ("narratives", "status", "deleted"),
    ("sightings", "source.kind", "blog"),
    ("rebuttals", "issuer.kind", "ngo"),
    ("rebuttals", "verdict", "true"),
    ("rebuttals", "verdict", "FALSE"),
]


@pytest.mark.parametrize(
    ("method", "resource", "field", "value", "key"),
    [*field_cases(BAD_ENUMS), *field_cases([("sightings", "status", "approved")], ("PATCH",))],
)
def test_value_outside_enumeration_is_422(client, conn, world, method, resource, field, value, key):
    body = write_refused(client, conn, world, method, resource, field, value, key)
    assert body["errors"][key][0].startswith("Must be one of:")


@pytest.mark.parametrize(
    ("method", "resource", "field", "value", "key"),
    field_cases([("sightings", "url", BAD_URL), ("rebuttals", "url", BAD_URL)]),
)
def test_unparseable_url_is_422(client, conn, world, method, resource, field, value, key):
    write_refused(client, conn, world, method, resource, field, value, key)


# 7. Slugs


@pytest.mark.parametrize("slug", ["Ukrainian Window", "-x", "x-", "x--y", "Ukrainian-window"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_bad_slug_is_422(client, conn, world, method, slug):
    write_refused(client, conn, world, method, "narratives", "slug", slug, "slug")


def test_title_without_latin_letters_needs_a_slug(client, conn):
    before = snapshot(conn)
    body = narrative_body(title="Украинский след")
    del body["slug"]
    response = client.post("/v1/narratives", json=body)
    assert_problem(response, 422, "validation", errors="slug")
    assert snapshot(conn) == before


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_duplicate_slug_is_409(client, conn, world, method):
    taken = create_narrative(client)["slug"]
    path, body = target(world, "narratives", method)
    before = snapshot(conn)
    response = client.open(path, method=method, json=with_value(body, "slug", taken))
    assert_problem(response, 409, "conflict", errors="slug")
    assert snapshot(conn) == before


# 8. References to other narratives


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("ref", ["nope", MISSING])
def test_sighting_of_unknown_narrative_is_422(client, conn, world, method, ref):
    write_refused(client, conn, world, method, "sightings", "narrative", ref, "narrative")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(
    ("refs", "key"),
    [(["nope"], "narratives.0"), ([], "narratives"), (["<known>", MISSING], "narratives.1")],
)
def test_rebuttal_of_unknown_narratives_is_422(client, conn, world, method, refs, key):
    refs = [world["narrative"]["slug"] if ref == "<known>" else ref for ref in refs]
    write_refused(client, conn, world, method, "rebuttals", "narratives", refs, key)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_unknown_parent_is_422(client, conn, world, method):
    write_refused(client, conn, world, method, "narratives", "parent", "nope", "parent")


@pytest.mark.parametrize("descendant", ["self", "child", "grandchild"])
def test_parent_cycle_is_422(client, conn, descendant):
    root = create_narrative(client)["slug"]
    child = create_narrative(client, parent=root)["slug"]
    grandchild = create_narrative(client, parent=child)["slug"]
    parent = {"self": root, "child": child, "grandchild": grandchild}[descendant]
    before = snapshot(conn)
    response = client.patch(f"/v1/narratives/{root}", json={"parent": parent, "title": "Moved"})
    assert_problem(response, 422, "validation", errors="parent")
    assert snapshot(conn) == before


@pytest.mark.parametrize(
    ("method", "resource", "field"),
    [
        ("POST", "sightings", "narrative"),
        ("PATCH", "sightings", "narrative"),
        ("POST", "rebuttals", "narratives.0"),
        ("PATCH", "rebuttals", "narratives.0"),
    ],
)
def test_archived_narrative_takes_no_new_evidence(client, conn, world, method, resource, field):
    archived = create_narrative(client)["slug"]
    assert client.delete(f"/v1/narratives/{archived}").status_code == 204
    value = archived if field == "narrative" else [archived]
    write_refused(client, conn, world, method, resource, field.split(".")[0], value, field)
