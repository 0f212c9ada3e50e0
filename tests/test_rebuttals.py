"""Rebuttals: what has been said against a narrative, by whom, in which office, and when."""

import pytest

from tests.factories import create_narrative, create_rebuttal, rebuttal_body


@pytest.fixture
def narratives(client):
    return [
        create_narrative(client, slug="ukrainian-window"),
        create_narrative(client, slug="ukrainian-involvement"),
    ]


def test_post_links_every_named_narrative(client, narratives):
    involvement = narratives[1]
    body = rebuttal_body(["ukrainian-window", involvement["id"]])

    response = client.post("/v1/rebuttals", json=body)

    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/v1/rebuttals/{created['id']}"
    assert {n["slug"] for n in created["narratives"]} == {
        "ukrainian-window",
        "ukrainian-involvement",
    }
    assert created["issuer"] == body["issuer"]
    assert created["verdict"] == "false"
    assert created["published_at"] == body["published_at"]
    assert created["reported_by"] == "test-admin"


def test_naming_a_narrative_twice_links_it_once(client, narratives):
    window = narratives[0]

    created = create_rebuttal(client, ["ukrainian-window", window["id"]])

    assert [n["slug"] for n in created["narratives"]] == ["ukrainian-window"]


def test_a_narratives_rebuttals_newest_first_with_cursor(client, narratives):
    dates = ["2024-03-25", "2024-03-26", "2024-03-27"]
    for day in dates:
        create_rebuttal(client, ["ukrainian-window"], published_at=f"{day}T09:00:00Z")
    create_rebuttal(client, ["ukrainian-involvement"], published_at="2024-03-28T09:00:00Z")

    first = client.get("/v1/narratives/ukrainian-window/rebuttals?limit=2").get_json()
    second = client.get(
        f"/v1/narratives/ukrainian-window/rebuttals?limit=2&cursor={first['next_cursor']}"
    ).get_json()

    published = [r["published_at"][:10] for r in first["items"] + second["items"]]
    assert published == list(reversed(dates))
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("issuer=emmanuel macron", {"macron"}),
        ("kind=parliament", {"kearns"}),
        ("verdict=undermined", {"lukashenko"}),
        ("language=fr", {"macron"}),
        ("since=2024-03-26T00:00:00Z", {"lukashenko", "kearns"}),
        ("narrative=ukrainian-involvement", {"kearns"}),
        ("narrative=ukrainian-window&verdict=disputed", {"macron"}),
    ],
)
def test_list_filters(client, narratives, query, expected):
    def issuer(name, kind):
        return {"name": name, "role": None, "organization": None, "country": None, "kind": kind}

    made = {
        "macron": create_rebuttal(
            client,
            ["ukrainian-window"],
            issuer=issuer("Emmanuel Macron", "government"),
            verdict="disputed",
            language="fr",
            published_at="2024-03-25T10:00:00Z",
        ),
        "lukashenko": create_rebuttal(
            client,
            ["ukrainian-window"],
            issuer=issuer("Alexander Lukashenko", "government"),
            verdict="undermined",
            published_at="2024-03-26T10:00:00Z",
        ),
        "kearns": create_rebuttal(
            client,
            ["ukrainian-involvement"],
            issuer=issuer("Alicia Kearns", "parliament"),
            verdict="unsupported",
            published_at="2024-03-27T10:00:00Z",
        ),
    }
    names = {r["id"]: name for name, r in made.items()}

    items = client.get(f"/v1/rebuttals?{query}").get_json()["items"]

    assert {names[r["id"]] for r in items} == expected


def test_patch_replaces_the_narrative_list_and_keeps_ordering_in_step(client, narratives):
    rebuttal = create_rebuttal(client, ["ukrainian-window"], published_at="2024-03-25T10:00:00Z")

    response = client.patch(
        f"/v1/rebuttals/{rebuttal['id']}",
        json={"narratives": ["ukrainian-involvement"], "published_at": "2024-03-29T10:00:00Z"},
    )

    assert response.status_code == 200
    assert [n["slug"] for n in response.get_json()["narratives"]] == ["ukrainian-involvement"]
    window = client.get("/v1/narratives/ukrainian-window/rebuttals").get_json()["items"]
    involvement = client.get("/v1/narratives/ukrainian-involvement/rebuttals").get_json()["items"]
    assert window == []
    assert involvement[0]["published_at"] == "2024-03-29T10:00:00Z"


def test_patch_corrects_the_issuer(client, narratives):
    rebuttal = create_rebuttal(client, ["ukrainian-window"])
    issuer = {**rebuttal["issuer"], "role": "Adviser"}

    body = client.patch(f"/v1/rebuttals/{rebuttal['id']}", json={"issuer": issuer}).get_json()

    assert body["issuer"]["role"] == "Adviser"
    assert body["statement"] == rebuttal["statement"]


def test_delete_removes_the_rebuttal_and_its_links(client, narratives):
    rebuttal = create_rebuttal(client, ["ukrainian-window"])

    assert client.delete(f"/v1/rebuttals/{rebuttal['id']}").status_code == 204
    assert client.get(f"/v1/rebuttals/{rebuttal['id']}").status_code == 404
    assert client.get("/v1/narratives/ukrainian-window").get_json()["rebuttal_count"] == 0


def test_rebuttals_of_an_archived_narrative_stay_readable(client, narratives):
    create_rebuttal(client, ["ukrainian-window"])
    client.delete("/v1/narratives/ukrainian-window")

    items = client.get("/v1/narratives/ukrainian-window/rebuttals").get_json()["items"]

    assert len(items) == 1
