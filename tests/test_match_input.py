"""Bad input to /v1/match: a precise 4xx problem+json naming the field, nothing written, never
a 500. An unusable language tag is not bad input: it falls back to language-neutral matching."""

import pytest

from tests.factories import create_narrative
from tests.problems import BAD_URL, assert_problem, snapshot

BAD_BODIES = [
    ({}, "text"),
    ({"text": ""}, "text"),
    ({"text": "   \n\t"}, "text"),
    ({"text": None}, "text"),
    ({"text": 42}, "text"),
    ({"text": "x" * (100 * 1024 + 1)}, "text"),
    ({"text": "ж" * (50 * 1024 + 1)}, "text"),  # under 100 K characters, over 100 KB
    ({"text": "a\x00b"}, "text"),
    ({"url": "ftp://outlet.example/a"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": BAD_URL}, "url"),
    ({"url": ""}, "url"),
    ({"text": "x", "limit": 0}, "limit"),
    ({"text": "x", "limit": 21}, "limit"),
    ({"text": "x", "limit": "5"}, "limit"),
    ({"text": "x", "limit": True}, "limit"),
    ({"text": "x", "limit": 2.5}, "limit"),
    ({"text": "x", "language": 7}, "language"),
    ({"text": "x", "lang": "ru"}, "lang"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_match_body_is_422_naming_the_field(client, conn, body, field):
    create_narrative(client, slug="ukrainian-window", title="Ukrainian window")
    before = snapshot(conn)

    response = client.post("/v1/match", json=body)

    assert_problem(response, 422, errors=field)
    assert snapshot(conn) == before


def test_text_of_exactly_100_kb_is_accepted(client):
    response = client.post("/v1/match", json={"text": "ж" * (50 * 1024)})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "url"),
        ("?url=ftp://outlet.example/a", "url"),
        ("?url=https://outlet.example/a&limit=0", "limit"),
        ("?url=https://outlet.example/a&limit=abc", "limit"),
        ("?url=https://outlet.example/a&text=hello", "text"),
    ],
)
def test_bad_link_lookup_is_422(client, query, field):
    assert_problem(client.get(f"/v1/match{query}"), 422, errors=field)


def test_a_body_that_is_not_json_is_400(client):
    response = client.post("/v1/match", data=b"{", content_type="application/json")

    assert_problem(response, 400)


@pytest.mark.parametrize("tag", ["xx-not a tag!", "", "de", "zh-Hant", "\u0000", "r" * 100])
def test_an_unusable_language_tag_falls_back_to_neutral_matching(client, tag):
    create_narrative(client, slug="ukrainian-window", title="Ukrainian window")

    response = client.post("/v1/match", json={"text": "Ukrainian window", "language": tag})

    assert response.status_code == 200
    body = response.get_json()
    assert body["language"] == "und"
    assert body["matches"][0]["narrative"]["slug"] == "ukrainian-window"


def test_readers_may_match_and_anonymous_callers_may_not(client_for, anon_client):
    assert client_for("reader").post("/v1/match", json={"text": "x"}).status_code == 200
    assert client_for("reader").get("/v1/match?url=https://a.example/").status_code == 200
    assert_problem(anon_client.post("/v1/match", json={"text": "x"}), 401)
