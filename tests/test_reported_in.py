"""A sighting's `reported_in` {url, name}: where a statement heard in a video, or carried
second-hand, was reported. Stored, returned, corrected and validated like the other nested
fields; never part of what identifies the sighting; used by the exports as the page to link."""

import psycopg
import pytest

from service.formats import common
from tests.factories import create_narrative, create_sighting, sighting_body
from tests.problems import BAD_URL, assert_problem, snapshot

DW = "https://www.dw.com/en/russian-intel-heads-allege-western-support-for-moscow-attack/a-68671023"
LUCORG = "https://www.lucorg.com/2024/03/isis-is-a-terrorist-so-who-is-russia/"
BY_DW = {"url": DW, "name": "DW (Deutsche Welle)"}


@pytest.fixture
def narrative(client):
    return create_narrative(client, slug="ukrainian-window")


def heard_on_tv(**overrides):
    """A statement with no page of its own, reported by DW."""
    return sighting_body("ukrainian-window", **{"url": None, "reported_in": BY_DW, **overrides})


# Round trip


def test_post_get_and_list_return_where_it_was_reported(client, narrative):
    response = client.post("/v1/sightings", json=heard_on_tv())

    assert response.status_code == 201
    created = response.get_json()
    assert created["reported_in"] == BY_DW
    assert created["url"] is None
    assert client.get(f"/v1/sightings/{created['id']}").get_json()["reported_in"] == BY_DW
    (listed,) = client.get("/v1/narratives/ukrainian-window/sightings").get_json()["items"]
    assert listed["reported_in"] == BY_DW


def test_a_primary_url_and_a_report_are_kept_apart(client, narrative):
    created = create_sighting(
        client, "ukrainian-window", url="https://shot.ru/v/1", reported_in=BY_DW
    )

    assert created["url"] == "https://shot.ru/v/1"
    assert created["url_normalized"] == "https://shot.ru/v/1"
    assert created["reported_in"] == BY_DW


@pytest.mark.parametrize("given", [{}, {"reported_in": None}], ids=["absent", "null"])
def test_without_a_report_it_is_null(client, narrative, given):
    created = create_sighting(client, "ukrainian-window", **given)

    assert created["reported_in"] is None


def test_an_outlet_may_be_named_without_a_link(client, narrative):
    created = create_sighting(client, "ukrainian-window", reported_in={"name": "TASS"})

    assert created["reported_in"] == {"url": None, "name": "TASS"}


def test_patch_sets_replaces_and_removes_the_report(client, narrative):
    sighting = create_sighting(client, "ukrainian-window")
    path = f"/v1/sightings/{sighting['id']}"

    set_ = client.patch(path, json={"reported_in": BY_DW})
    replaced = client.patch(path, json={"reported_in": {"url": LUCORG, "name": "lucorg.com"}})
    untouched = client.patch(path, json={"status": "confirmed"})
    removed = client.patch(path, json={"reported_in": None})

    assert set_.status_code == 200 and set_.get_json()["reported_in"] == BY_DW
    assert replaced.get_json()["reported_in"] == {"url": LUCORG, "name": "lucorg.com"}
    assert untouched.get_json()["reported_in"] == {"url": LUCORG, "name": "lucorg.com"}
    assert removed.get_json()["reported_in"] is None
    assert client.get(path).get_json()["reported_in"] is None


def test_a_batch_carries_reports_item_by_item(client, conn, narrative):
    items = [
        heard_on_tv(external_id="tv-1"),
        sighting_body("ukrainian-window", external_id="web-1"),
        heard_on_tv(external_id="tv-2", reported_in={"url": DW}),
    ]

    response = client.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 207
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "invalid"]
    assert set(results[2]["errors"]) == {"reported_in.name"}
    stored = {
        row["external_id"]: (row["reported_in_url"], row["reported_in_name"])
        for row in conn.execute(
            "SELECT external_id, reported_in_url, reported_in_name FROM sightings"
        ).fetchall()
    }
    assert stored == {"tv-1": (DW, BY_DW["name"]), "web-1": (None, None)}


# Not part of the identity


@pytest.mark.parametrize(
    "identity",
    [
        {"url": "https://shot.ru/v/1"},
        {"url": None, "external_id": "monitor-42"},
        {"url": None},  # neither: narrative, moment, source, speaker and words
    ],
    ids=["url", "external_id", "content"],
)
def test_a_sighting_differing_only_in_its_report_is_a_duplicate(client, conn, narrative, identity):
    first = create_sighting(client, "ukrainian-window", reported_in=BY_DW, **identity)
    again = sighting_body(
        "ukrainian-window",
        observed_at=first["observed_at"],
        reported_in={"url": LUCORG, "name": "lucorg.com"},
        **identity,
    )

    response = client.post("/v1/sightings", json=again)

    assert response.status_code == 200
    assert response.get_json()["duplicate"] is True
    assert response.get_json()["id"] == first["id"]
    assert response.get_json()["reported_in"] == BY_DW  # the stored one stays
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == 1


def test_correcting_the_report_keeps_the_identity(client, conn, narrative):
    first = create_sighting(client, "ukrainian-window", url=None, reported_in=BY_DW)
    key = "SELECT content_key FROM sightings WHERE id = %s"
    before = conn.execute(key, (first["id"],)).fetchone()["content_key"]

    client.patch(f"/v1/sightings/{first['id']}", json={"reported_in": None})
    again = sighting_body("ukrainian-window", url=None, observed_at=first["observed_at"])
    response = client.post("/v1/sightings", json=again)

    assert conn.execute(key, (first["id"],)).fetchone()["content_key"] == before
    assert response.get_json()["id"] == first["id"]
    assert response.get_json()["duplicate"] is True


# Bad input: 422 problem+json naming the field, nothing written


BAD = [
    pytest.param({"url": "ftp://dw.com/a", "name": "DW"}, "reported_in.url", id="not-http"),
    pytest.param({"url": BAD_URL, "name": "DW"}, "reported_in.url", id="malformed-url"),
    pytest.param({"url": 5, "name": "DW"}, "reported_in.url", id="url-not-a-string"),
    pytest.param({"url": "/en/a-68671023", "name": "DW"}, "reported_in.url", id="relative"),
    pytest.param({"url": "https://u:p@dw.com/a", "name": "DW"}, "reported_in.url", id="creds"),
    pytest.param(
        {"url": "https://dw.com/" + "a" * 2048, "name": "DW"}, "reported_in.url", id="long-url"
    ),
    pytest.param({"url": DW}, "reported_in.name", id="name-missing"),
    pytest.param({"url": DW, "name": None}, "reported_in.name", id="name-null"),
    pytest.param({"url": DW, "name": ""}, "reported_in.name", id="name-empty"),
    pytest.param({"url": DW, "name": "D" * 201}, "reported_in.name", id="name-long"),
    pytest.param({"url": DW, "name": "D\u0000W"}, "reported_in.name", id="name-nul"),
    pytest.param({}, "reported_in.name", id="empty-object"),
    pytest.param({**BY_DW, "published": "2024-03-26"}, "reported_in.published", id="unknown"),
    pytest.param("DW", "reported_in", id="not-an-object"),
    pytest.param([BY_DW], "reported_in", id="a-list"),
]


@pytest.mark.parametrize(("value", "field"), BAD)
def test_a_bad_report_is_refused_on_post(client, conn, narrative, value, field):
    before = snapshot(conn)

    response = client.post("/v1/sightings", json=heard_on_tv(reported_in=value))

    assert_problem(response, 422, "validation", errors=field)
    assert snapshot(conn) == before


@pytest.mark.parametrize(("value", "field"), BAD)
def test_a_bad_report_is_refused_on_patch(client, conn, narrative, value, field):
    sighting = create_sighting(client, "ukrainian-window", reported_in=BY_DW)
    before = snapshot(conn)

    response = client.patch(
        f"/v1/sightings/{sighting['id']}", json={"reported_in": value, "status": "confirmed"}
    )

    assert_problem(response, 422, "validation", errors=field)
    assert snapshot(conn) == before


def test_the_database_refuses_a_link_without_an_outlet(client, conn, narrative):
    sighting = create_sighting(client, "ukrainian-window")

    refused = pytest.raises(psycopg.errors.CheckViolation, match="sightings_reported_in_named")
    with refused, conn.transaction():
        conn.execute(
            "UPDATE sightings SET reported_in_url = %s WHERE id = %s", (DW, sighting["id"])
        )


# The exports link the report


def test_stix_refers_to_the_primary_page_and_the_report(client, narrative):
    both = create_sighting(client, "ukrainian-window", url="https://shot.ru/v/1", reported_in=BY_DW)
    heard = create_sighting(client, "ukrainian-window", url=None, reported_in=BY_DW)
    named = create_sighting(client, "ukrainian-window", url=None, reported_in={"name": "TASS"})

    bundle = client.get(
        "/v1/narratives/ukrainian-window/stix", headers={"Accept": "application/json"}
    ).get_json()

    sros = {o["id"]: o for o in bundle["objects"] if o["type"] == "sighting"}
    references = {
        s["id"]: sros[f"sighting--{common.stable_uuid('sighting', s['id'])}"].get(
            "external_references", []
        )
        for s in (both, heard, named)
    }
    assert [(r["source_name"], r["url"]) for r in references[both["id"]]] == [
        ("SHOT", "https://shot.ru/v/1"),
        ("DW (Deutsche Welle)", DW),
    ]
    assert [(r["source_name"], r["url"]) for r in references[heard["id"]]] == [
        ("DW (Deutsche Welle)", DW)
    ]
    assert references[named["id"]] == []  # a name without a link gives a reader nothing to open


def test_claimreview_shows_the_report_as_the_appearance(client, narrative):
    create_sighting(client, "ukrainian-window", url=None, reported_in=BY_DW)
    client.post(
        "/v1/rebuttals",
        json={
            "narratives": ["ukrainian-window"],
            "issuer": {
                "name": "DW",
                "role": None,
                "organization": None,
                "country": "DE",
                "kind": "media",
            },
            "verdict": "unsupported",
            "statement": "No evidence was offered.",
            "url": DW,
            "published_at": "2024-03-26T18:00:00Z",
            "language": "en",
        },
    )

    document = client.get("/v1/narratives/ukrainian-window/claimreview").get_json()

    (review,) = document["@graph"]
    work = review["itemReviewed"]["firstAppearance"]
    assert work["url"] == DW
    assert work["publisher"] == {"@type": "Organization", "name": "DW (Deutsche Welle)"}
