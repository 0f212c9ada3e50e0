"""Demo data: the seed articles' narratives, sightings and rebuttals load, once, and read back
through the API as a newsroom tool would see them."""

from urllib.parse import urlsplit

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


def _an_article(url: str) -> bool:
    """A page a reader can open and read: an http(s) URL naming a document, not a search or
    a listing (no query, a path of its own, no search segment)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.query
        and bool(segments)
        and not any("search" in s.lower() for s in segments)
    )


def test_every_demo_sighting_links_an_article(client, loaded):
    items = client.get("/v1/sightings?limit=200").get_json()["items"]

    assert len(items) == len(demo.dataset()["sightings"])
    for sighting in items:
        links = [sighting["url"], (sighting["reported_in"] or {}).get("url")]
        assert any(links), sighting
        assert all(_an_article(link) for link in links if link), sighting


def test_every_demo_rebuttal_links_an_article(client, loaded):
    items = client.get("/v1/rebuttals?limit=200").get_json()["items"]

    assert len(items) == len(demo.dataset()["rebuttals"])
    assert all(_an_article(r["url"]) for r in items), [r["url"] for r in items]


def test_the_dw_search_page_is_no_article():
    search = "https://www.dw.com/search/?languageCode=en&item=Russian%20intel%20heads"

    assert not _an_article(search)
    assert not _an_article("https://www.dw.com/")
    assert _an_article(
        "https://www.dw.com/en/russian-intel-heads-allege-western-support-for-moscow-attack/a-68671023"
    )


@pytest.mark.parametrize("slug", [n["slug"] for n in demo.dataset()["narratives"]])
def test_every_exported_demo_sighting_carries_its_link(client, loaded, slug):
    sightings = client.get(f"/v1/narratives/{slug}/sightings?limit=200").get_json()["items"]
    bundle = client.get(
        f"/v1/narratives/{slug}/stix", headers={"Accept": "application/json"}
    ).get_json()

    exported = [o for o in bundle["objects"] if o["type"] == "sighting"]
    assert len(exported) == len(sightings)
    for sro in exported:
        assert sro["external_references"] and all(
            _an_article(r["url"]) for r in sro["external_references"]
        )
