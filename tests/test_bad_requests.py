"""Bad requests beyond the body: unknown ids and refs, bad query parameters and cursors, bodies
over the size cap, wrong methods, the opaque 500, repeated sightings and request ids. Always an
RFC 9457 problem+json document with the right status and the offending field named, never a 500,
and never a partial write."""

import base64
import json
from typing import Any

import pytest

import service
from service import db
from tests.factories import create_rebuttal, narrative_body, sighting_body
from tests.problems import BAD_URL, MISSING, assert_problem, snapshot

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
        app.extensions[db.EXTENSION].close()
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
