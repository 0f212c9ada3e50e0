"""Bad input, at every write endpoint and in paths and query strings: always an RFC 9457
problem+json document with the right status and the offending field named, never a 500, and
never a partial write."""

# ruff: noqa: RUF001 (Cyrillic test data)

import base64
import copy
import json
import uuid
from typing import Any

import pytest

import service
from tests.factories import (
    create_narrative,
    create_rebuttal,
    create_sighting,
    narrative_body,
    rebuttal_body,
    sighting_body,
)

MISSING = str(uuid.uuid4())
BAD_URL = "http://[::1"  # urlsplit raises ValueError on the unclosed IPv6 bracket


def assert_problem(response, status: int, kind: str | None = None, errors=None) -> dict:
    """A problem document: status, media type, the four members, and (if given) exactly the
    fields named in `errors`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and isinstance(body["title"], str)
    assert body["detail"] and isinstance(body["detail"], str)
    assert body["type"].endswith(f":{kind}") if kind else body["type"]
    if errors is not None:
        expected = {errors} if isinstance(errors, str) else set(errors)
        assert set(body["errors"]) == expected, body["errors"]
        assert all(body["errors"][name] for name in expected)
    return body


def snapshot(conn) -> dict[str, Any]:
    """Every stored row, so a test can show a refused write changed nothing."""
    tables = ("narratives", "narrative_aliases", "sightings", "rebuttals", "rebuttal_narratives")
    return {
        table: conn.execute(
            f"SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t::text), '[]') AS rows FROM {table} t"
        ).fetchone()["rows"]
        for table in tables
    }


def with_value(body: dict, dotted: str, value: Any) -> dict:
    """A copy of `body` with the field at `dotted` (e.g. "aliases.0.text") set to `value`."""
    body = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return body


@pytest.fixture
def world(client) -> dict[str, Any]:
    narrative = create_narrative(client)
    return {
        "narrative": narrative,
        "sighting": create_sighting(client, narrative["slug"]),
        "rebuttal": create_rebuttal(client, [narrative["slug"]]),
    }


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


# 9. Unknown ids and refs

NOT_FOUND = [
    ("GET", "/v1/narratives/does-not-exist", "not-found"),
    ("PATCH", "/v1/narratives/does-not-exist", "not-found"),
    ("DELETE", "/v1/narratives/does-not-exist", "not-found"),
    ("GET", f"/v1/narratives/{MISSING}", "not-found"),
    ("PATCH", f"/v1/narratives/{MISSING}", "not-found"),
    ("DELETE", f"/v1/narratives/{MISSING}", "not-found"),
    ("GET", f"/v1/sightings/{MISSING}", "not-found"),
    ("PATCH", f"/v1/sightings/{MISSING}", "not-found"),
    ("GET", f"/v1/rebuttals/{MISSING}", "not-found"),
    ("PATCH", f"/v1/rebuttals/{MISSING}", "not-found"),
    ("DELETE", f"/v1/rebuttals/{MISSING}", "not-found"),
    ("GET", "/v1/narratives/x/sightings", "not-found"),
    ("GET", "/v1/narratives/x/rebuttals", "not-found"),
    ("GET", "/v1/sightings?narrative=nope", "not-found"),
    ("GET", "/v1/rebuttals?narrative=nope", "not-found"),
    ("GET", "/v1/sightings/not-a-uuid", None),
    ("PATCH", "/v1/rebuttals/not-a-uuid", None),
    ("GET", "/v1/narratives/..%2F..%2Fetc%2Fpasswd", None),
    ("GET", "/v1/sightings/%00", None),
    ("GET", "/v1/nothing-here", None),
]


@pytest.mark.parametrize(
    ("method", "path", "kind"), NOT_FOUND, ids=[f"{m} {p}" for m, p, _ in NOT_FOUND]
)
def test_unknown_resource_is_404(client, conn, method, path, kind):
    before = snapshot(conn)
    change = {"narratives": {"title": "x"}, "sightings": {"status": "confirmed"}}
    body = change.get(path.split("/")[2], {"verdict": "false"}) if method == "PATCH" else None
    assert_problem(client.open(path, method=method, json=body), 404, kind)
    assert snapshot(conn) == before


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_nul_in_narrative_ref_is_404(client, method):
    body = {"title": "x"} if method == "PATCH" else None
    assert_problem(client.open("/v1/narratives/%00", method=method, json=body), 404, "not-found")


# 10. Query parameters and cursors

BAD_QUERIES = [
    ("/v1/narratives", "limit=0", "limit"),
    ("/v1/narratives", "limit=201", "limit"),
    ("/v1/narratives", "limit=abc", "limit"),
    ("/v1/narratives", "limit=1.5", "limit"),
    ("/v1/narratives", "foo=1", "foo"),
    ("/v1/narratives", "status=bogus", "status"),
    ("/v1/narratives", "updated_since=2024-03-26T12:00:00", "updated_since"),
    ("/v1/narratives", "tag=Bad%20Tag", "tag"),
    ("/v1/narratives", "q=a%00b", "q"),
    ("/v1/sightings", "limit=0", "limit"),
    ("/v1/sightings", "limit=true", "limit"),
    ("/v1/sightings", "since=yesterday", "since"),
    ("/v1/sightings", "until=2024-03-26", "until"),
    ("/v1/sightings", "status=bogus", "status"),
    ("/v1/sightings", "country=RUS", "country"),
    ("/v1/sightings", "url=not-a-url", "url"),
    ("/v1/sightings", "narrative=", "narrative"),
    ("/v1/sightings", "langauge=ru", "langauge"),
    ("/v1/rebuttals", "limit=201", "limit"),
    ("/v1/rebuttals", "since=yesterday", "since"),
    ("/v1/rebuttals", "verdict=bogus", "verdict"),
    ("/v1/rebuttals", "kind=bogus", "kind"),
    ("/v1/rebuttals", "foo=1", "foo"),
    ("/v1/narratives/{slug}/sightings", "since=yesterday", "since"),
    ("/v1/narratives/{slug}/sightings", "foo=1", "foo"),
    ("/v1/narratives/{slug}/rebuttals", "limit=abc", "limit"),
]


@pytest.mark.parametrize(
    ("path", "query", "field"), BAD_QUERIES, ids=[f"{p}?{q}" for p, q, _ in BAD_QUERIES]
)
def test_bad_query_parameter_is_422(client, world, path, query, field):
    path = path.format(slug=world["narrative"]["slug"])
    assert_problem(client.get(f"{path}?{query}"), 422, "validation", errors=field)


def test_unparseable_url_filter_is_422(client):
    assert_problem(client.get(f"/v1/sightings?url={BAD_URL}"), 422, "validation", errors="url")


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


LISTS = ["/v1/narratives", "/v1/sightings", "/v1/rebuttals", "/v1/narratives/{slug}/sightings"]
BAD_CURSORS = {
    "abc": "abc",
    "punctuation": "!!!",
    "b64-garbage": base64.urlsafe_b64encode(b"\x00\xffgarbage\x01").decode(),
    "b64-object": b64({"a": 1}),
    "b64-short-list": b64(["sightings", "2024-03-26T12:00:00+00:00"]),
    "b64-naive-time": b64(["sightings", "2024-03-26T12:00:00", MISSING]),
    "b64-bad-uuid": b64(["sightings", "2024-03-26T12:00:00+00:00", "nope"]),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
@pytest.mark.parametrize("path", LISTS)
def test_bad_cursor_is_400(client, world, path, cursor):
    path = path.format(slug=world["narrative"]["slug"])
    response = client.get(path, query_string={"cursor": cursor})
    assert_problem(response, 400, "bad-cursor", errors="cursor")


@pytest.mark.parametrize("bad_id", [5, ["x"]], ids=["number", "list"])
def test_cursor_with_non_string_id_is_400(client, bad_id):
    cursor = b64(["sightings", "2024-03-26T12:00:00+00:00", bad_id])
    response = client.get("/v1/sightings", query_string={"cursor": cursor})
    assert_problem(response, 400, "bad-cursor", errors="cursor")


@pytest.mark.parametrize("path", ["/v1/sightings", "/v1/narratives"])
def test_cursor_from_another_list_is_400(client, world, path):
    create_rebuttal(client, [world["narrative"]["slug"]])
    cursor = client.get("/v1/rebuttals?limit=1").get_json()["next_cursor"]
    assert cursor
    response = client.get(path, query_string={"cursor": cursor})
    assert_problem(response, 400, "bad-cursor", errors="cursor")


# 11-13. Size cap, methods, and the opaque 500


def test_body_over_the_cap_is_413(client, conn, app):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    before = snapshot(conn)
    body = narrative_body(summary="s" * (3 * 1024 * 1024))
    assert_problem(client.post("/v1/narratives", json=body), 413)
    assert snapshot(conn) == before


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/narratives", "GET, HEAD, OPTIONS, POST"),
        ("DELETE", f"/v1/sightings/{MISSING}", "GET, HEAD, OPTIONS, PATCH"),
        ("POST", f"/v1/rebuttals/{MISSING}", "DELETE, GET, HEAD, OPTIONS, PATCH"),
    ],
)
def test_wrong_method_is_405_with_allow(client, method, path, allow):
    response = client.open(path, method=method)
    assert_problem(response, 405)
    assert response.headers["Allow"] == allow


def test_unhandled_exception_is_an_opaque_500(database_url, api_keys):
    app = service.create_app(
        {"DATABASE_URL": database_url, "DB_POOL_MIN_SIZE": 0, "RATE_LIMIT_PER_MINUTE": 0}
    )

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    try:
        response = app.test_client().get(
            "/boom", headers={"Authorization": f"Bearer {api_keys['reader']}"}
        )
    finally:
        app.extensions["narratives.db"].close()
    assert_problem(response, 500, "internal")
    text = response.get_data(as_text=True)
    assert "secret" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text


# 14. A repeated sighting is not an error


@pytest.mark.parametrize(
    "variant",
    [
        lambda url: url,
        lambda url: url + "?utm_source=telegram&utm_medium=social#comments",
        lambda url: url.replace("outlet.example", "OUTLET.Example"),
    ],
    ids=["same", "tracking-and-fragment", "host-case"],
)
def test_repeated_sighting_returns_the_stored_one(client, conn, world, variant):
    body = sighting_body(world["narrative"]["slug"])
    first = client.post("/v1/sightings", json=body)
    assert first.status_code == 201
    assert first.get_json()["duplicate"] is False
    again = client.post("/v1/sightings", json={**body, "url": variant(body["url"])})
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["id"] == first.get_json()["id"]
    count = conn.execute(
        "SELECT count(*) AS n FROM sightings WHERE url_normalized = %s",
        (first.get_json()["url_normalized"],),
    ).fetchone()["n"]
    assert count == 1


# 15. Request ids in problem documents


def test_problem_quotes_a_sane_request_id(client):
    response = client.get("/v1/narratives?limit=0", headers={"X-Request-ID": "abc-123"})
    assert assert_problem(response, 422, "validation")["request_id"] == "abc-123"
    assert response.headers["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("supplied", ["x" * 300, "has spaces", "<script>", ""])
def test_problem_replaces_a_garbage_request_id(client, supplied):
    response = client.get("/v1/narratives?limit=0", headers={"X-Request-ID": supplied})
    generated = assert_problem(response, 422, "validation")["request_id"]
    assert generated != supplied
    assert len(generated) == 32
    int(generated, 16)
    assert response.headers["X-Request-ID"] == generated
