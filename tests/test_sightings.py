"""Sightings: record once (retries return the stored one), read, filter, page, review."""

import pytest

from tests.factories import create_narrative, create_sighting, sighting_body


@pytest.fixture
def narrative(client):
    return create_narrative(client, slug="ukrainian-window")


def test_post_stores_the_sighting_with_provenance(client, narrative):
    body = sighting_body("ukrainian-window", url="https://Shot.ru/news/1?utm_source=tg#top")

    response = client.post("/v1/sightings", json=body)

    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/v1/sightings/{created['id']}"
    assert created["duplicate"] is False
    assert created["narrative"] == {
        "id": narrative["id"],
        "slug": "ukrainian-window",
        "title": narrative["title"],
    }
    assert created["url"] == "https://Shot.ru/news/1?utm_source=tg#top"
    assert created["url_normalized"] == "https://shot.ru/news/1"
    assert created["actor"] == body["actor"]
    assert created["status"] == "unreviewed"
    assert created["reported_by"] == "test-admin"


def test_timestamps_are_returned_in_utc(client, narrative):
    created = create_sighting(client, "ukrainian-window", observed_at="2024-03-26T15:30:00+03:00")

    assert created["observed_at"] == "2024-03-26T12:30:00Z"


@pytest.mark.parametrize(
    "again",
    [
        "https://shot.ru/news/1",
        "HTTPS://SHOT.RU:443/news/1",
        "https://shot.ru/news/1?fbclid=abc&utm_medium=social",
        "https://shot.ru/news/./1#comments",
    ],
)
def test_the_same_page_again_is_a_duplicate(client, conn, narrative, again):
    first = create_sighting(client, "ukrainian-window", url="https://shot.ru/news/1")

    response = client.post("/v1/sightings", json=sighting_body("ukrainian-window", url=again))

    assert response.status_code == 200
    assert response.get_json()["duplicate"] is True
    assert response.get_json()["id"] == first["id"]
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == 1


def test_the_same_external_id_again_is_a_duplicate(client, narrative):
    first = create_sighting(client, "ukrainian-window", url=None, external_id="mon-42")

    again = client.post(
        "/v1/sightings", json=sighting_body("ukrainian-window", url=None, external_id="mon-42")
    )

    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]


def test_the_same_url_for_another_narrative_is_a_new_sighting(client, narrative):
    create_narrative(client, slug="false-flag")
    create_sighting(client, "ukrainian-window", url="https://shot.ru/news/1")

    other = client.post(
        "/v1/sightings", json=sighting_body("false-flag", url="https://shot.ru/news/1")
    )

    assert other.status_code == 201


def test_different_sightings_without_url_or_external_id_are_all_kept(client, narrative):
    create_sighting(client, "ukrainian-window", url=None, observed_at="2024-03-25T12:00:00Z")
    create_sighting(client, "ukrainian-window", url=None, observed_at="2024-03-26T12:00:00Z")
    create_sighting(client, "ukrainian-window", url=None, quote="Другие слова")

    items = client.get("/v1/sightings").get_json()["items"]

    assert len(items) == 3


def test_the_same_sighting_without_url_or_external_id_is_a_duplicate(client, conn, narrative):
    body = sighting_body("ukrainian-window", url=None, observed_at="2024-03-26T09:00:00+03:00")
    first = client.post("/v1/sightings", json=body)
    same_moment_other_offset = {**body, "observed_at": "2024-03-26T06:00:00Z"}
    source_case = {**same_moment_other_offset, "source": {"name": "shot", "kind": "outlet"}}

    again = client.post("/v1/sightings", json=source_case)

    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == 1


def test_get_one(client, narrative):
    created = create_sighting(client, "ukrainian-window")

    response = client.get(f"/v1/sightings/{created['id']}")

    assert response.status_code == 200
    fetched = response.get_json()
    assert "duplicate" not in fetched
    assert fetched["id"] == created["id"]


def test_list_newest_observed_first_with_cursor(client, narrative):
    days = ["2024-03-22", "2024-03-25", "2024-03-26", "2024-03-27"]
    for day in days:
        create_sighting(client, "ukrainian-window", observed_at=f"{day}T12:00:00Z")

    first = client.get("/v1/sightings?limit=3").get_json()
    second = client.get(f"/v1/sightings?limit=3&cursor={first['next_cursor']}").get_json()

    observed = [s["observed_at"][:10] for s in first["items"] + second["items"]]
    assert observed == list(reversed(days))
    assert second["next_cursor"] is None


def test_equal_timestamps_page_without_loss_or_repeat(client, narrative):
    ids = {
        create_sighting(client, "ukrainian-window", observed_at="2024-03-26T12:00:00Z")["id"]
        for _ in range(5)
    }

    seen, cursor = [], None
    while True:
        query = "/v1/sightings?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query).get_json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert sorted(seen) == sorted(ids)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source=shot", {"patrushev"}),
        ("actor=ALEXANDER BORTNIKOV", {"bortnikov"}),
        ("language=en", {"bortnikov"}),
        ("country=by", {"lukashenko"}),
        ("since=2024-03-26T00:00:00Z", {"bortnikov", "lukashenko"}),
        ("until=2024-03-26T00:00:00Z", {"patrushev"}),
        ("url=https://SHOT.ru/p?utm_source=x", {"patrushev"}),
        ("narrative=false-flag", {"lukashenko"}),
    ],
)
def test_list_filters(client, narrative, query, expected):
    create_narrative(client, slug="false-flag")
    by_external_id = {
        "patrushev": create_sighting(
            client,
            "ukrainian-window",
            url="https://shot.ru/p",
            observed_at="2024-03-25T10:00:00Z",
            external_id="patrushev",
        ),
        "bortnikov": create_sighting(
            client,
            "ukrainian-window",
            source={"name": "TASS", "kind": "outlet"},
            actor={"name": "Alexander Bortnikov", "role": "FSB Director"},
            language="en",
            observed_at="2024-03-26T10:00:00Z",
            external_id="bortnikov",
        ),
        "lukashenko": create_sighting(
            client,
            "false-flag",
            source={"name": "BelTA", "kind": "outlet"},
            country="BY",
            observed_at="2024-03-26T11:00:00Z",
            external_id="lukashenko",
        ),
    }

    items = client.get(f"/v1/sightings?{query}").get_json()["items"]

    found = {s["external_id"] for s in items}
    assert found == expected
    assert all(s["id"] == by_external_id[s["external_id"]]["id"] for s in items)


def test_review_marks_false_positive_and_status_filters(client, narrative):
    kept = create_sighting(client, "ukrainian-window")
    wrong = create_sighting(client, "ukrainian-window")

    response = client.patch(f"/v1/sightings/{wrong['id']}", json={"status": "false_positive"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "false_positive"
    confirmed = client.get("/v1/sightings?status=false_positive").get_json()["items"]
    assert [s["id"] for s in confirmed] == [wrong["id"]]
    unreviewed = client.get("/v1/sightings?status=unreviewed").get_json()["items"]
    assert kept["id"] in [s["id"] for s in unreviewed]
    assert wrong["id"] not in [s["id"] for s in unreviewed]


def test_patch_moves_a_sighting_and_corrects_fields(client, narrative):
    create_narrative(client, slug="western-special-services")
    sighting = create_sighting(client, "ukrainian-window")

    response = client.patch(
        f"/v1/sightings/{sighting['id']}",
        json={"narrative": "western-special-services", "actor": None, "url": "https://tass.ru/x"},
    )

    body = response.get_json()
    assert response.status_code == 200
    assert body["narrative"]["slug"] == "western-special-services"
    assert body["actor"] is None
    assert body["url_normalized"] == "https://tass.ru/x"
    assert body["quote"] == sighting["quote"]


def test_patch_into_an_existing_identity_is_a_conflict(client, narrative):
    create_sighting(client, "ukrainian-window", url="https://shot.ru/a")
    other = create_sighting(client, "ukrainian-window", url="https://shot.ru/b")

    response = client.patch(f"/v1/sightings/{other['id']}", json={"url": "https://shot.ru/a"})

    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert "url" in response.get_json()["errors"]


def test_a_narratives_sightings(client, narrative):
    create_narrative(client, slug="false-flag")
    mine = create_sighting(client, "ukrainian-window")
    create_sighting(client, "false-flag")

    page = client.get("/v1/narratives/ukrainian-window/sightings").get_json()

    assert [s["id"] for s in page["items"]] == [mine["id"]]
