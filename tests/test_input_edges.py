"""Input at the edges: text PostgreSQL cannot hold, values that pass a lax check but not the
database's, identities, and the shapes the API hands back being accepted again."""

import pytest

from service.ops import migrate
from tests.factories import create_narrative, create_rebuttal, narrative_body, sighting_body


@pytest.fixture
def narrative(client):
    return create_narrative(client, slug="ukrainian-window")


def raw_post(client, path, text):
    return client.post(
        path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json"
    )


@pytest.mark.parametrize("path", ["/v1/narratives", "/v1/sightings", "/v1/rebuttals"])
@pytest.mark.parametrize(
    "body",
    [
        '{"title": "abc\\ud800"}',  # an escaped lone surrogate
        '{"title": "ok", "\\ud800": 1}',  # ... as a field name
        '{"title": "x", "n": 1' + "1" * 5000 + "}",  # past every float
    ],
    ids=["surrogate", "surrogate-name", "huge-number"],
)
def test_json_that_cannot_be_stored_is_malformed(client, path, body):
    response = raw_post(client, path, body)

    assert response.status_code == 400
    assert response.get_json()["type"].endswith("malformed-json")


def test_invalid_utf8_is_malformed_everywhere(client):
    for path in ("/v1/narratives", "/v1/sightings", "/v1/rebuttals"):
        response = client.post(
            path, data=b'{"title": "\xed\xa0\x80"}', content_type="application/json"
        )
        assert response.status_code == 400, path


def test_text_fields_refuse_lone_surrogates_on_their_own():
    """Defence in depth: whatever parser feeds the schemas, a surrogate never reaches SQL."""
    from service.schemas.narratives import NarrativeIn

    with pytest.raises(Exception, match="surrogate"):
        NarrativeIn().load({"title": "abc\ud800"})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slug": "trailing-newline\n"}, "slug"),
        ({"tags": ["crocus\n"]}, "tags.0"),
        ({"aliases": [{"text": "x", "language": "ru\n"}]}, "aliases.0.language"),
    ],
)
def test_a_trailing_newline_does_not_slip_past_patterns(client, overrides, field):
    response = client.post("/v1/narratives", json=narrative_body(**overrides))

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_bad_item_language_never_sinks_the_batch(client, conn, narrative):
    items = [sighting_body("ukrainian-window", language="ru\n"), sighting_body("ukrainian-window")]

    response = client.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 207
    assert [r["status"] for r in response.get_json()["results"]] == ["invalid", "created"]


def test_a_url_too_long_once_percent_encoded_is_422(client, conn, narrative):
    url = "https://example.org/" + "中" * 1500  # 1520 characters, about 13,500 encoded
    items = [sighting_body("ukrainian-window", url=url), sighting_body("ukrainian-window")]

    single = client.post("/v1/sightings", json=items[0])
    batch = client.post("/v1/sightings", json={"sightings": items})

    assert single.status_code == 422 and "url" in single.get_json()["errors"]
    assert [r["status"] for r in batch.get_json()["results"]] == ["invalid", "created"]


@pytest.mark.parametrize(
    "moment",
    ["2024-W13-2T09:30:00Z", "20240326T093000Z", "2024-03-26 09:30:00Z", "2024-03-26T09:30Z"],
)
def test_timestamps_must_be_rfc3339(client, narrative, moment):
    response = client.post(
        "/v1/sightings", json=sighting_body("ukrainian-window", observed_at=moment)
    )

    assert response.status_code == 422
    assert "observed_at" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("confidence", "0.5"), ("confidence", True), ("country", "ß"), ("country", "R1")],
)
def test_no_coercion_of_lookalike_values(client, narrative, field, value):
    response = client.post(
        "/v1/sightings", json=sighting_body("ukrainian-window", **{field: value})
    )

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_rebuttal_read_can_be_written_back(client, narrative):
    rebuttal = create_rebuttal(client, ["ukrainian-window"])

    response = client.patch(
        f"/v1/rebuttals/{rebuttal['id']}", json={"narratives": rebuttal["narratives"]}
    )

    assert response.status_code == 200
    assert response.get_json()["narratives"] == rebuttal["narratives"]


def test_a_sighting_can_name_its_narrative_as_the_api_shows_it(client, narrative):
    brief = {key: narrative[key] for key in ("id", "slug", "title")}

    response = client.post("/v1/sightings", json=sighting_body(brief))

    assert response.status_code == 201
    assert response.get_json()["narrative"] == brief


def test_an_all_invalid_batch_still_reports_every_item(client, narrative):
    items = [{"narrative": "ukrainian-window"}, sighting_body("nope")]

    body = client.post("/v1/sightings", json={"sightings": items}).get_json()

    assert body["status"] == 422
    assert [r["status"] for r in body["results"]] == ["invalid", "invalid"]
    assert body["invalid"] == 2 and body["created"] == 0


@pytest.mark.parametrize("key", ["nt_short", "x" * 4000, "nt_" + "A" * 42 + "!"])
def test_keys_of_the_wrong_shape_are_refused_unread(anon_client, key):
    response = anon_client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/v1/narratives/ukrainian-window", "/v1/sightings/{id}"])
def test_an_empty_patch_is_422(client, narrative, path):
    sighting = client.post("/v1/sightings", json=sighting_body("ukrainian-window")).get_json()

    response = client.patch(path.format(id=sighting["id"]), json={})

    assert response.status_code == 422
    assert "_body" in response.get_json()["errors"]


def test_double_slashes_are_404_not_a_redirect(client):
    response = client.get("/v1/narratives//sightings", headers={"Host": "evil.example"})

    assert response.status_code == 404
    assert "Location" not in response.headers
    assert response.content_type == "application/problem+json"


def test_an_unknown_method_on_a_public_route_is_405_without_a_key(anon_client):
    assert anon_client.open("/healthz", method="TRACE").status_code == 405


def test_a_key_cannot_revoke_itself(client, api_keys):
    me = client.get("/v1/keys").get_json()["items"]
    admin = next(k for k in me if k["name"] == "test-admin")

    response = client.delete(f"/v1/keys/{admin['id']}")

    assert response.status_code == 409
    assert client.get("/v1/me").status_code == 200


def test_responses_are_not_sniffed(client):
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"


def test_a_new_key_is_never_cached(client):
    response = client.post("/v1/keys", json={"name": "uncached", "role": "reader"})

    assert response.headers["Cache-Control"] == "no-store"


def test_readiness_ignores_migrations_newer_than_the_code(conn, client):
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
    )

    assert migrate.readiness(conn) == "ok"
    assert client.get("/readyz").status_code == 200
