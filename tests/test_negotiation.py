"""Content negotiation: ClaimReview on the resources themselves, and 406 for what no route can
send."""

import pytest

from tests.factories import create_narrative, create_rebuttal


@pytest.fixture
def records(client):
    narrative = create_narrative(client)
    rebuttal = create_rebuttal(client, [narrative["slug"]])
    return f"/v1/narratives/{narrative['slug']}", f"/v1/rebuttals/{rebuttal['id']}"


def test_a_narrative_or_rebuttal_asked_for_json_ld_is_its_claimreview(client, records):
    for url in records:
        by_accept = client.get(url, headers={"Accept": "application/ld+json"})
        by_query = client.get(f"{url}?format=claimreview")
        plain = client.get(url, headers={"Accept": "application/json, */*;q=0.1"})

        assert by_accept.status_code == by_query.status_code == 200
        assert by_accept.content_type == by_query.content_type == "application/ld+json"
        document = by_accept.get_json()
        assert document["@context"] == "https://schema.org"
        assert document["@graph"][0]["@type"] == "ClaimReview"
        assert by_query.get_json() == document
        assert plain.content_type == "application/json" and "id" in plain.get_json()


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png;q=1, text/*"])
def test_an_accept_no_route_can_answer_is_a_406_problem(client, records, accept):
    for url in ("/v1/narratives", "/v1/me", *records):
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == 406, url
        assert response.content_type == "application/problem+json"
        assert response.get_json()["type"].endswith(":not-acceptable")


def test_wildcards_and_problem_json_are_acceptable(client):
    for accept in ("*/*", "application/*", "application/problem+json", ""):
        assert client.get("/v1/narratives", headers={"Accept": accept}).status_code == 200


def test_an_unknown_format_is_a_422(client, records):
    response = client.get(f"{records[0]}?format=xml")
    assert response.status_code == 422 and "format" in response.get_json()["errors"]
