"""Batch ingest and Idempotency-Key: what monitors posting in bursts, with retries, rely on."""

import uuid

import pytest

from tests.factories import create_narrative, sighting_body


@pytest.fixture
def monitor(client_for):
    return client_for("monitor")


@pytest.fixture
def narrative(client):
    return create_narrative(client, slug="ukrainian-window")


def count(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"]


def test_a_batch_returns_one_result_per_item_in_order(monitor, conn, narrative):
    items = [sighting_body("ukrainian-window") for _ in range(3)]

    response = monitor.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 200
    body = response.get_json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert {r["status"] for r in body["results"]} == {"created"}
    assert (body["created"], body["duplicates"], body["invalid"]) == (3, 0, 0)
    assert count(conn) == 3
    stored = monitor.get(f"/v1/sightings/{body['results'][1]['id']}").get_json()
    assert stored["url"] == items[1]["url"] and stored["reported_by"] == "test-monitor"


def test_invalid_items_never_block_valid_ones(monitor, conn, narrative):
    good = sighting_body("ukrainian-window")
    items = [
        good,
        sighting_body("ukrainian-window", observed_at="yesterday"),
        sighting_body("no-such-narrative"),
        "not an object",
        sighting_body("ukrainian-window", source={"name": "X", "kind": "blog"}, extra=1),
    ]

    response = monitor.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 207
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["invalid"] * 4
    assert list(results[1]["errors"]) == ["observed_at"]
    assert list(results[2]["errors"]) == ["narrative"]
    assert list(results[3]["errors"]) == ["_body"]
    assert set(results[4]["errors"]) == {"source.kind", "extra"}
    assert count(conn) == 1


def test_duplicates_within_and_across_batches(monitor, conn, narrative):
    first = sighting_body("ukrainian-window", url="https://shot.ru/1")
    same_page = sighting_body("ukrainian-window", url="https://SHOT.ru/1?utm_source=tg")
    by_external_id = sighting_body("ukrainian-window", url=None, external_id="m-1")

    one = monitor.post("/v1/sightings", json={"sightings": [first, same_page, by_external_id]})
    two = monitor.post("/v1/sightings", json={"sightings": [same_page, by_external_id]})

    r1, r2 = one.get_json()["results"], two.get_json()["results"]
    assert [r["status"] for r in r1] == ["created", "duplicate", "created"]
    assert r1[1]["id"] == r1[0]["id"]
    assert [r["status"] for r in r2] == ["duplicate", "duplicate"]
    assert [r["id"] for r in r2] == [r1[0]["id"], r1[2]["id"]]
    assert count(conn) == 2


def test_external_ids_are_scoped_to_the_posting_key(client_for, conn, narrative):
    body = {"sightings": [sighting_body("ukrainian-window", url=None, external_id="shared")]}

    first = client_for("monitor").post("/v1/sightings", json=body).get_json()
    other_key = client_for("editor").post("/v1/sightings", json=body).get_json()

    assert first["results"][0]["status"] == other_key["results"][0]["status"] == "created"
    assert count(conn) == 2


def test_a_batch_with_no_valid_item_is_422_and_stores_nothing(monitor, conn, narrative):
    items = [sighting_body("ukrainian-window", language="not a tag"), {"narrative": "x"}]

    response = monitor.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert "sightings.0.language" in errors and "sightings.1.observed_at" in errors
    assert count(conn) == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"sightings": "many"}, 422, "sightings"),
        ({"sightings": {"a": 1}}, 422, "sightings"),
        ({"sightings": []}, 422, "sightings"),
        ({"sightings": [], "extra": True}, 422, "extra"),
    ],
)
def test_malformed_batches(monitor, conn, narrative, body, status, field):
    response = monitor.post("/v1/sightings", json=body)

    assert response.status_code == status
    assert field in response.get_json()["errors"]
    assert count(conn) == 0


def test_more_than_1000_items_is_413(monitor, conn, narrative):
    items = [sighting_body("ukrainian-window", url=None, quote=None, actor=None)] * 1001

    response = monitor.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 413
    assert response.get_json()["type"].endswith("batch-too-large")
    assert count(conn) == 0


def test_1000_items_are_accepted_in_one_request(monitor, conn, narrative):
    items = [sighting_body("ukrainian-window", url=f"https://x.example/{i}") for i in range(1000)]

    response = monitor.post("/v1/sightings", json={"sightings": items})

    assert response.status_code == 200
    assert response.get_json()["created"] == 1000
    assert count(conn) == 1000


def test_a_batch_is_written_with_one_insert_statement(monitor, conn, narrative, monkeypatch):
    statements = []
    execute = conn.execute

    def recording(query, *args, **kwargs):
        statements.append(query.as_string(conn) if hasattr(query, "as_string") else str(query))
        return execute(query, *args, **kwargs)

    monkeypatch.setattr(conn, "execute", recording)
    items = [sighting_body("ukrainian-window") for _ in range(50)]

    response = monitor.post("/v1/sightings", json={"sightings": items})

    assert response.get_json()["created"] == 50
    inserts = [s for s in statements if "INSERT INTO sightings" in s]
    assert len(inserts) == 1
    assert len(statements) <= 6  # key lookup, narratives, insert, and transaction bookkeeping


def test_idempotency_key_replays_the_first_response(monitor, conn, narrative):
    body = sighting_body("ukrainian-window")
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = monitor.post("/v1/sightings", json=body, headers=headers)
    again = monitor.post("/v1/sightings", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(conn) == 1


def test_idempotency_key_reused_for_another_body_is_refused(monitor, conn, narrative):
    headers = {"Idempotency-Key": "k-1"}
    monitor.post("/v1/sightings", json=sighting_body("ukrainian-window"), headers=headers)

    other = monitor.post("/v1/sightings", json=sighting_body("ukrainian-window"), headers=headers)

    assert other.status_code == 422
    assert other.get_json()["type"].endswith("idempotency-key-reused")
    assert count(conn) == 1


def test_a_refused_request_is_not_remembered(monitor, conn, narrative):
    headers = {"Idempotency-Key": "k-2"}
    bad = sighting_body("ukrainian-window", observed_at="soon")
    good = sighting_body("ukrainian-window")

    assert monitor.post("/v1/sightings", json=bad, headers=headers).status_code == 422
    fixed = monitor.post("/v1/sightings", json=good, headers=headers)

    assert fixed.status_code == 201


def test_idempotency_keys_are_per_api_key(client_for, conn, narrative):
    headers = {"Idempotency-Key": "shared-key"}

    one = client_for("monitor").post(
        "/v1/sightings", json=sighting_body("ukrainian-window"), headers=headers
    )
    two = client_for("editor").post(
        "/v1/sightings", json=sighting_body("ukrainian-window"), headers=headers
    )

    assert one.status_code == two.status_code == 201
    assert count(conn) == 2


def test_a_batch_with_an_idempotency_key_replays_too(monitor, conn, narrative):
    body = {"sightings": [sighting_body("ukrainian-window"), {"bad": 1}]}
    headers = {"Idempotency-Key": "batch-1"}

    first = monitor.post("/v1/sightings", json=body, headers=headers)
    again = monitor.post("/v1/sightings", json=body, headers=headers)

    assert first.status_code == again.status_code == 207
    assert again.get_json() == first.get_json()


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "ключ"])
def test_malformed_idempotency_keys_are_400(monitor, narrative, key):
    response = monitor.post(
        "/v1/sightings", json=sighting_body("ukrainian-window"), headers={"Idempotency-Key": key}
    )

    assert response.status_code == 400
    assert response.get_json()["type"].endswith("bad-idempotency-key")
