"""Conditional requests: ETags on reads (304 when unchanged), If-Match on writes (412 when the
resource changed since it was read)."""

import pytest

from tests.factories import create_narrative, create_rebuttal, create_sighting


@pytest.mark.parametrize(
    "path",
    ["/v1/narratives", "/v1/narratives/{slug}", "/v1/sightings", "/v1/rebuttals", "/v1/me"],
)
def test_reads_carry_a_strong_etag_and_answer_304_when_unchanged(client, path):
    narrative = create_narrative(client)
    url = path.format(slug=narrative["slug"])

    first = client.get(url)
    tag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": tag})

    assert tag.startswith('"') and not tag.startswith("W/")
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == tag
    assert "Cache-Control" in again.headers


def test_a_read_changes_its_etag_when_a_derived_figure_changes(client):
    narrative = create_narrative(client)
    before = client.get(f"/v1/narratives/{narrative['slug']}").headers["ETag"]

    create_sighting(client, narrative["slug"])  # the narrative's row is untouched; its count is not
    after = client.get(f"/v1/narratives/{narrative['slug']}", headers={"If-None-Match": before})

    assert after.status_code == 200 and after.headers["ETag"] != before
    assert after.get_json()["sighting_count"] == 1


def test_if_none_match_lists_and_weak_tags_match_weakly(client):
    narrative = create_narrative(client)
    url = f"/v1/narratives/{narrative['slug']}"
    tag = client.get(url).headers["ETag"]

    assert client.get(url, headers={"If-None-Match": f'"other", W/{tag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


@pytest.mark.parametrize("header", ["If-None-Match", "If-Match"])
@pytest.mark.parametrize("value", ["abc", '"unterminated', '"a" "b"', "W/abc", '"a",,"b"'])
def test_a_malformed_entity_tag_list_is_a_400(client, header, value):
    narrative = create_narrative(client)
    url = f"/v1/narratives/{narrative['slug']}"
    if header == "If-Match":
        response = client.patch(url, json={"title": "Changed"}, headers={header: value})
    else:
        response = client.get(url, headers={header: value})

    assert response.status_code == 400
    assert response.get_json()["type"].endswith(":bad-precondition")
    assert client.get(url).get_json()["title"] == narrative["title"], "nothing written"


def _resources(client):
    narrative = create_narrative(client)
    sighting = create_sighting(client, narrative["slug"])
    rebuttal = create_rebuttal(client, [narrative["slug"]])
    return [
        (f"/v1/narratives/{narrative['slug']}", {"title": "A new title"}),
        (f"/v1/sightings/{sighting['id']}", {"quote": "New words"}),
        (f"/v1/rebuttals/{rebuttal['id']}", {"statement": "New statement"}),
    ]


def test_a_write_with_the_current_etag_goes_through(client):
    for url, change in _resources(client):
        tag = client.get(url).headers["ETag"]
        response = client.patch(url, json=change, headers={"If-Match": tag})
        assert response.status_code == 200, url
        assert response.headers["ETag"] != tag
        assert response.headers["ETag"] == client.get(url).headers["ETag"], "chainable"


def test_a_write_with_a_stale_etag_is_a_412_and_changes_nothing(client):
    for url, change in _resources(client):
        stale = client.get(url).headers["ETag"]
        assert client.patch(url, json=change).status_code == 200  # another editor got there

        second = {key: f"{value} (second editor)" for key, value in change.items()}
        refused = client.patch(url, json=second, headers={"If-Match": stale})

        assert refused.status_code == 412, url
        assert refused.content_type == "application/problem+json"
        assert refused.headers["ETag"] == client.get(url).headers["ETag"]
        assert client.get(url).get_json() == client.get(url).get_json()
        field = next(iter(change))
        assert client.get(url).get_json()[field] == change[field], "the first edit stands"


def test_deletes_honour_if_match_too(client):
    narrative = create_narrative(client)
    rebuttal = create_rebuttal(client, [narrative["slug"]])
    n_url, r_url = f"/v1/narratives/{narrative['slug']}", f"/v1/rebuttals/{rebuttal['id']}"

    assert client.delete(n_url, headers={"If-Match": '"stale"'}).status_code == 412
    assert client.delete(r_url, headers={"If-Match": '"stale"'}).status_code == 412
    assert client.get(n_url).get_json()["status"] == "active"
    assert (
        client.delete(r_url, headers={"If-Match": client.get(r_url).headers["ETag"]}).status_code
        == 204
    )
    assert client.delete(n_url, headers={"If-Match": "*"}).status_code == 204


def test_if_match_on_an_unknown_resource_is_a_404(client):
    response = client.patch(
        "/v1/rebuttals/00000000-0000-0000-0000-000000000000",
        json={"statement": "x"},
        headers={"If-Match": '"x"'},
    )
    assert response.status_code == 404
