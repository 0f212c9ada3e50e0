"""Narratives: create, read by id or slug, list with filters and cursors, patch, archive."""

from service.repo import stats
from tests.factories import create_narrative, create_rebuttal, create_sighting, narrative_body


def test_create_returns_the_narrative_with_derived_fields(client):
    response = client.post("/v1/narratives", json=narrative_body(slug="ukrainian-window"))

    assert response.status_code == 201
    assert response.headers["Location"] == "/v1/narratives/ukrainian-window"
    body = response.get_json()
    assert body["slug"] == "ukrainian-window"
    assert body["aliases"][0]["language"] == "ru"
    assert body["status"] == "active"
    assert body["parent"] is None
    assert body["sighting_count"] == 0 and body["rebuttal_count"] == 0
    assert body["first_seen_at"] is None and body["last_seen_at"] is None
    assert body["created_at"].endswith("Z")


def test_slug_is_derived_from_the_title_when_omitted(client):
    body = narrative_body(title="Western special services")
    del body["slug"]

    created = client.post("/v1/narratives", json=body).get_json()

    assert created["slug"] == "western-special-services"


def test_get_by_id_and_by_slug_agree(client):
    created = create_narrative(client)

    by_id = client.get(f"/v1/narratives/{created['id']}")
    by_slug = client.get(f"/v1/narratives/{created['slug']}")

    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.get_json() == by_slug.get_json()


def test_parent_is_shown_as_a_brief_reference(client):
    parent = create_narrative(client, slug="ukrainian-involvement")
    child = create_narrative(client, parent="ukrainian-involvement")

    assert child["parent"] == {"id": parent["id"], "slug": parent["slug"], "title": parent["title"]}


def test_counts_and_first_last_seen_ignore_false_positives(client):
    narrative = create_narrative(client)
    create_sighting(client, narrative["slug"], observed_at="2024-03-22T18:00:00Z")
    create_sighting(client, narrative["slug"], observed_at="2024-03-26T09:00:00Z")
    wrong = create_sighting(client, narrative["slug"], observed_at="2024-04-30T09:00:00Z")
    client.patch(f"/v1/sightings/{wrong['id']}", json={"status": "false_positive"})
    create_rebuttal(client, [narrative["slug"]])

    body = client.get(f"/v1/narratives/{narrative['slug']}").get_json()

    assert body["sighting_count"] == 2
    assert body["first_seen_at"] == "2024-03-22T18:00:00Z"
    assert body["last_seen_at"] == "2024-03-26T09:00:00Z"
    assert body["rebuttal_count"] == 1


def test_list_is_newest_first_and_pages_with_a_cursor(client):
    created = [create_narrative(client)["slug"] for _ in range(5)]

    first = client.get("/v1/narratives?limit=2").get_json()
    second = client.get(f"/v1/narratives?limit=2&cursor={first['next_cursor']}").get_json()
    third = client.get(f"/v1/narratives?limit=2&cursor={second['next_cursor']}").get_json()

    seen = [n["slug"] for page in (first, second, third) for n in page["items"]]
    assert seen == list(reversed(created))
    assert third["next_cursor"] is None


def test_cursor_pages_stay_stable_when_narratives_are_added_meanwhile(client):
    older = [create_narrative(client)["slug"] for _ in range(3)]
    first = client.get("/v1/narratives?limit=2").get_json()

    create_narrative(client)  # lands before the first page, not in the next one
    second = client.get(f"/v1/narratives?limit=2&cursor={first['next_cursor']}").get_json()

    assert [n["slug"] for n in first["items"] + second["items"]] == list(reversed(older))


def test_list_filters_by_text_across_title_aliases_and_keywords(client):
    window = create_narrative(
        client, title="Ukrainian window", aliases=[{"text": "украинское окно", "language": "ru"}]
    )
    flag = create_narrative(client, title="False flag", aliases=[], keywords=["провокация"])

    def slugs(q):
        return [n["slug"] for n in client.get(f"/v1/narratives?q={q}").get_json()["items"]]

    assert slugs("WINDOW") == [window["slug"]]
    assert slugs("окно") == [window["slug"]]
    assert slugs("провокац") == [flag["slug"]]
    assert slugs("100%") == []


def test_list_filters_by_tag_and_updated_since(client):
    tagged = create_narrative(client, tags=["nord-stream"])
    create_narrative(client, tags=["crocus-city-hall-attack"])

    by_tag = client.get("/v1/narratives?tag=nord-stream").get_json()["items"]
    future = client.get("/v1/narratives?updated_since=2199-01-01T00:00:00Z").get_json()["items"]

    assert [n["id"] for n in by_tag] == [tagged["id"]]
    assert future == []


def test_patch_changes_only_what_is_sent(client):
    narrative = create_narrative(client, summary="old", keywords=["a"])

    response = client.patch(
        f"/v1/narratives/{narrative['slug']}",
        json={"summary": "new", "aliases": [{"text": "false flag", "language": "en"}]},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["summary"] == "new"
    assert body["aliases"] == [{"text": "false flag", "language": "en"}]
    assert body["keywords"] == ["a"]
    assert body["title"] == narrative["title"]
    assert body["updated_at"] >= narrative["updated_at"]


def test_patch_can_set_and_clear_the_parent(client):
    parent = create_narrative(client)
    child = create_narrative(client)

    linked = client.patch(f"/v1/narratives/{child['id']}", json={"parent": parent["slug"]})
    cleared = client.patch(f"/v1/narratives/{child['id']}", json={"parent": None})

    assert linked.get_json()["parent"]["id"] == parent["id"]
    assert cleared.get_json()["parent"] is None


def test_delete_archives_and_hides_from_default_lists(client, conn):
    narrative = create_narrative(client)
    create_sighting(client, narrative["slug"])

    response = client.delete(f"/v1/narratives/{narrative['slug']}")

    assert response.status_code == 204
    listed = [n["id"] for n in client.get("/v1/narratives").get_json()["items"]]
    archived = [n["id"] for n in client.get("/v1/narratives?status=archived").get_json()["items"]]
    assert narrative["id"] not in listed
    assert archived == [narrative["id"]]
    still = client.get(f"/v1/narratives/{narrative['slug']}").get_json()
    assert still["status"] == "archived" and still["sighting_count"] == 1
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == 1


def test_delete_twice_is_harmless(client):
    narrative = create_narrative(client)

    assert client.delete(f"/v1/narratives/{narrative['id']}").status_code == 204
    assert client.delete(f"/v1/narratives/{narrative['id']}").status_code == 204


def test_counts_read_the_same_before_and_after_the_worker_folds_them(client, conn):

    narrative = create_narrative(client)
    sightings = [create_sighting(client, narrative["slug"]) for _ in range(3)]
    client.patch(f"/v1/sightings/{sightings[0]['id']}", json={"status": "false_positive"})
    url = f"/v1/narratives/{narrative['slug']}"
    before = client.get(url).get_json()

    stats.fold(conn)
    after = client.get(url).get_json()

    assert before["sighting_count"] == after["sighting_count"] == 2
    assert before["first_seen_at"] == after["first_seen_at"]
    listed = client.get("/v1/narratives?limit=200").get_json()["items"]
    assert next(n for n in listed if n["slug"] == narrative["slug"])["sighting_count"] == 2
