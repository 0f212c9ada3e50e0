"""Demo data: the seed articles' narratives, sightings and rebuttals load, once, and read back
through the API as a newsroom tool would see them."""

import pytest

from service.ops import demo


@pytest.fixture
def loaded(conn):
    return demo.load(conn)


def test_loads_every_record_of_the_dataset(loaded):
    data = demo.dataset()

    assert loaded == {kind: len(data[kind]) for kind in ("narratives", "sightings", "rebuttals")}
    assert loaded["narratives"] >= 3 and loaded["sightings"] >= 5 and loaded["rebuttals"] >= 5


def test_loading_again_changes_nothing(conn, loaded):
    before = conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"]

    again = demo.load(conn)

    assert again == {"narratives": 0, "sightings": 0, "rebuttals": 0}
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == before


@pytest.mark.parametrize("slug", ["ukrainian-window", "false-flag", "western-special-services"])
def test_the_core_narratives_are_there_with_russian_aliases(client, loaded, slug):
    narrative = client.get(f"/v1/narratives/{slug}").get_json()

    assert narrative["tags"] and "crocus-city-hall-attack" in narrative["tags"]
    if slug != "false-flag":
        assert any(alias["language"] == "ru" for alias in narrative["aliases"])


def test_patrushev_said_of_course_ukraine_on_shot(client, loaded):
    items = client.get("/v1/sightings?actor=Nikolai Patrushev&limit=200").get_json()["items"]

    shot = [s for s in items if s["source"]["name"] == "SHOT"]
    assert shot and "Of course Ukraine" in shot[0]["quote"]
    assert shot[0]["observed_at"].startswith("2024-03-26")


def test_lukashenko_undermines_the_window_claim(client, loaded):
    rebuttals = client.get("/v1/narratives/ukrainian-window/rebuttals").get_json()["items"]

    by_issuer = {r["issuer"]["name"]: r for r in rebuttals}
    assert by_issuer["Alexander Lukashenko"]["verdict"] == "undermined"
    assert "Belarus" in by_issuer["Alexander Lukashenko"]["statement"]


def test_rebuttals_name_issuers_and_offices(client, loaded):
    items = client.get("/v1/rebuttals?limit=200").get_json()["items"]

    issuers = {r["issuer"]["name"] for r in items}
    assert {"Mykhailo Podolyak", "Emmanuel Macron", "Alicia Kearns"} <= issuers
    assert all(r["url"].startswith("https://") for r in items)
