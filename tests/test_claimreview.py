"""schema.org ClaimReview exports: every demo narrative and rebuttal, and the feed, expand as
JSON-LD with pyld fully offline (the schema.org context from shared/standards, through a loader
that refuses every other URL) and carry what ClaimReview consumers require: claimReviewed,
reviewRating (ratingValue, alternateName), url, author, datePublished, itemReviewed."""

import json
import re
import uuid
from datetime import UTC, datetime
from functools import cache

import pytest
from pyld import jsonld

from service.formats import claimreview
from tests.exports_support import DEMO, DEMO_SLUGS, STANDARDS, load_demo, no_network  # noqa: F401
from tests.factories import create_narrative, create_rebuttal, create_sighting
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("no_network")

S = "http://schema.org/"  # the context's @vocab: expanded IRIs are http, not https
CONTEXT_FILE = STANDARDS / "schemaorg" / "schemaorgcontext.jsonld"


@cache
def schema_org_context() -> dict:
    return json.loads(CONTEXT_FILE.read_text("utf-8"))


def offline_loader(url, options=None):
    if url.rstrip("/") in ("https://schema.org", "http://schema.org") or url.endswith(
        "schema.org/docs/jsonldcontext.jsonld"
    ):
        return {"contextUrl": None, "documentUrl": url, "document": schema_org_context()}
    raise jsonld.JsonLdError(
        f"offline: refusing {url}", "jsonld.LoadDocumentError", code="loading document failed"
    )


def expand(document: dict) -> list[dict]:
    return jsonld.expand(document, {"documentLoader": offline_loader})


def value(node: dict, name: str):
    """The single value of a property of an expanded node: a literal's @value or an IRI's @id."""
    (item,) = node[S + name]
    return item.get("@value", item.get("@id"))


def expanded_reviews(document: dict) -> list[dict]:
    return [n for n in expand(document) if S + "ClaimReview" in n.get("@type", [])]


def assert_consumable(review: dict) -> None:
    """What Google's ClaimReview reader and fact-check tools need, in the expanded graph."""
    assert value(review, "claimReviewed")
    (rating,) = review[S + "reviewRating"]
    assert rating["@type"] == [S + "Rating"]
    verdict = value(rating, "alternateName")
    assert value(rating, "ratingValue") == claimreview.VERDICT_RATING[verdict]
    assert (
        value(rating, "worstRating") <= value(rating, "ratingValue") <= value(rating, "bestRating")
    )
    assert value(review, "url").startswith("https://")
    (author,) = review[S + "author"]
    assert author["@type"][0] in (S + "Person", S + "Organization")
    assert value(author, "name")
    datetime.fromisoformat(value(review, "datePublished"))
    (claim,) = review[S + "itemReviewed"]
    assert claim["@type"] == [S + "Claim"]
    assert value(claim, "name") == value(review, "claimReviewed")


@pytest.fixture
def demo_data(conn):
    return load_demo(conn)


@pytest.mark.parametrize("slug", DEMO_SLUGS)
def test_every_demo_narrative_expands_offline_with_what_consumers_need(client_for, demo_data, slug):
    narrative = client_for("reader").get(f"/v1/narratives/{slug}").get_json()
    response = client_for("reader").get(f"/v1/narratives/{slug}/claimreview")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/ld+json"
    document = response.get_json()
    assert document["@context"] == "https://schema.org"
    reviews = expanded_reviews(document)
    assert len(reviews) == narrative["rebuttal_count"]
    for review in reviews:
        assert_consumable(review)
        assert value(review, "claimReviewed") == narrative["title"]


def test_every_demo_rebuttal_is_a_claimreview_per_narrative_it_answers(client, demo_data):
    assert len(demo_data["rebuttals"]) == len(DEMO["rebuttals"])
    for rebuttal_id in demo_data["rebuttals"]:
        rebuttal = client.get(f"/v1/rebuttals/{rebuttal_id}").get_json()

        document = client.get(f"/v1/rebuttals/{rebuttal_id}/claimreview").get_json()

        reviews = expanded_reviews(document)
        assert [value(r, "claimReviewed") for r in reviews] == [
            n["title"] for n in rebuttal["narratives"]
        ]
        for review in reviews:
            assert_consumable(review)
            assert value(review, "url") == rebuttal["url"]
            assert value(review[S + "reviewRating"][0], "alternateName") == rebuttal["verdict"]
            assert value(review[S + "author"][0], "name") == rebuttal["issuer"]["name"]


def test_appearances_are_the_sightings_with_their_urls_and_authors(client, demo_data):
    document = client.get("/v1/narratives/ukrainian-involvement/claimreview").get_json()
    sightings = client.get("/v1/narratives/ukrainian-involvement/sightings").get_json()["items"]

    (claim,) = expanded_reviews(document)[0][S + "itemReviewed"]
    works = claim[S + "firstAppearance"] + claim.get(S + "appearance", [])
    assert len(works) == len(sightings)
    assert {value(w, "datePublished") for w in works} == {s["observed_at"] for s in sightings}
    # Every appearance links to a page a reader can open: the sighting's own, else the report.
    assert sorted(value(w, "url") for w in works) == sorted(
        s["url"] or s["reported_in"]["url"] for s in sightings
    )
    assert sorted(value(w[S + "publisher"][0], "name") for w in works) == sorted(
        s["source"]["name"] if s["url"] else s["reported_in"]["name"] for s in sightings
    )
    speakers = {value(w[S + "author"][0], "name") for w in works}
    assert speakers == {(s["actor"] or s["source"])["name"] for s in sightings}
    first = min(sightings, key=lambda s: s["observed_at"])
    assert value(claim[S + "firstAppearance"][0], "datePublished") == first["observed_at"]


def test_a_second_hand_sighting_appears_at_the_page_that_reported_it():
    moment = datetime(2024, 3, 26, 12, tzinfo=UTC)
    narrative = {"id": uuid.uuid4(), "title": "Ukrainian window", "summary": "", "aliases": []}
    sighting = {
        "id": uuid.uuid4(),
        "observed_at": moment,
        "url": None,
        "reported_in": {"url": "https://www.dw.com/en/a-68671023", "name": "DW"},
        "source": {"name": "Rossiya 1", "kind": "channel"},
        "actor": {"name": "Alexander Bortnikov", "role": "Director of the FSB"},
        "quote": None,
        "language": "ru",
    }
    rebuttal = {
        "id": uuid.uuid4(),
        "verdict": "false",
        "url": "https://www.dw.com/en/a-68671023",
        "statement": "No evidence was offered.",
        "published_at": moment,
        "language": "en",
        "issuer": {"name": "DW", "role": None, "organization": None, "country": "DE"},
    }

    review = expanded_reviews(claimreview.claim_review(rebuttal, narrative, [sighting]))[0]

    (work,) = review[S + "itemReviewed"][0][S + "firstAppearance"]
    assert value(work, "url") == "https://www.dw.com/en/a-68671023"
    assert value(work[S + "publisher"][0], "name") == "DW"
    assert value(work[S + "author"][0], "name") == "Alexander Bortnikov"


def test_the_feed_pages_through_every_rebuttal_of_every_live_narrative(client, conn, demo_data):
    conn.execute("UPDATE narratives SET status = 'archived' WHERE slug = 'false-flag'")
    expected = conn.execute(
        """
        SELECT count(*) AS n FROM rebuttal_narratives l JOIN narratives n ON n.id = l.narrative_id
         WHERE n.status <> 'archived'
        """
    ).fetchone()["n"]

    elements, pages, url = [], 0, "/v1/claimreview?limit=3"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/ld+json"
        feed = response.get_json()
        assert [n["@type"] for n in expand(feed)] == [[S + "DataFeed"]]
        elements += feed["dataFeedElement"]
        pages += 1
        link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
        url = link.group(1) if link else None

    assert pages == 3  # 8 demo rebuttals, 3 a page
    assert len(elements) == expected
    assert "The attack was a false-flag operation by Russia" not in {
        e["item"]["claimReviewed"] for e in elements
    }
    for element in elements:
        (review,) = expanded_reviews({"@context": "https://schema.org", **element["item"]})
        assert_consumable(review)
    published = [e["item"]["datePublished"] for e in elements]
    assert published == sorted(published, reverse=True)


def test_the_feed_is_empty_when_nothing_was_rebutted(client):
    response = client.get("/v1/claimreview")

    assert response.get_json()["dataFeedElement"] == []
    assert "Link" not in response.headers


def test_new_records_show_up_in_the_exports(client):
    narrative = create_narrative(client)
    create_sighting(client, narrative["slug"], url="https://outlet.example/one")
    rebuttal = create_rebuttal(client, [narrative["slug"]], verdict="misleading")

    document = client.get(f"/v1/rebuttals/{rebuttal['id']}/claimreview").get_json()

    (review,) = expanded_reviews(document)
    assert value(review[S + "reviewRating"][0], "ratingValue") == 2
    (claim,) = review[S + "itemReviewed"]
    assert value(claim[S + "firstAppearance"][0], "url") == "https://outlet.example/one"


def test_the_loader_refuses_any_other_context():
    document = {"@context": "https://example.org/context.jsonld", "name": "x"}

    with pytest.raises(jsonld.JsonLdError):
        expand(document)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ4IjoxfQ"])
def test_a_bad_feed_cursor_is_400(client, cursor):
    assert_problem(client.get(f"/v1/claimreview?cursor={cursor}"), 400, "bad-cursor")


def test_a_cursor_from_another_list_is_400(client, demo_data):
    other = client.get("/v1/rebuttals?limit=1").get_json()["next_cursor"]

    assert_problem(client.get(f"/v1/claimreview?cursor={other}"), 400, "bad-cursor")


def test_unknown_records_are_404(client):
    assert_problem(client.get("/v1/narratives/no-such-thing/claimreview"), 404, "not-found")
    assert_problem(client.get(f"/v1/rebuttals/{uuid.uuid4()}/claimreview"), 404, "not-found")


def test_plain_json_when_asked_and_406_for_what_it_cannot_send(client, demo_data):
    as_json = client.get("/v1/claimreview", headers={"Accept": "application/json"})
    refused = client.get("/v1/claimreview", headers={"Accept": "text/html"})

    assert as_json.headers["Content-Type"] == "application/json"
    assert_problem(refused, 406, "not-acceptable")


def test_a_key_is_needed(anon_client):
    assert_problem(anon_client.get("/v1/claimreview"), 401)


def test_the_verdict_scale_is_the_documented_one():
    """README's table; consumers store these numbers, so changing one is a breaking change."""
    assert claimreview.VERDICT_RATING == {
        "false": 1,
        "misleading": 2,
        "undermined": 2,
        "unsupported": 3,
        "disputed": 3,
    }
    assert (claimreview.WORST_RATING, claimreview.BEST_RATING) == (1, 5)
