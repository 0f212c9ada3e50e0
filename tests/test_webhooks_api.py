"""/v1/webhooks: managing subscriptions, the targets refused, and what the outbox trigger
enqueues (all inside the test's rolled-back transaction; delivery is test_webhooks_delivery)."""

import uuid

import pytest

from tests.factories import create_narrative, create_rebuttal, create_sighting
from tests.problems import assert_problem

PUBLIC = "https://8.8.8.8/hooks/narratives"  # an address literal: no lookup leaves the machine


def subscriptions(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM webhook_subscriptions").fetchone()["n"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://localhost:9000/hook", "loopback"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://100.64.0.1/hook", "non-public"),
        ("ftp://8.8.8.8/hook", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("http://user:pw@8.8.8.8/hook", "credentials"),
        ("https://8.8.8.8/" + "a" * 2048, "2048"),
    ],
)
def test_forbidden_targets_are_refused_and_nothing_is_written(client, conn, url, why):
    response = client.post("/v1/webhooks", json={"url": url, "event_types": ["sighting.created"]})

    body = assert_problem(response, 422, "validation", errors="url")
    assert why in body["errors"]["url"][0]
    assert subscriptions(conn) == 0


def test_unknown_event_types_and_narratives_are_refused(client, conn):
    bad_type = client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": ["sighting.gone"]})
    assert_problem(bad_type, 422, "validation", errors="event_types.0")
    none = client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": []})
    assert_problem(none, 422, "validation", errors="event_types")
    unknown = client.post(
        "/v1/webhooks",
        json={"url": PUBLIC, "event_types": ["sighting.created"], "narrative": "no-such-thing"},
    )
    assert_problem(unknown, 422, "validation", errors="narrative")
    assert subscriptions(conn) == 0


def test_only_admins_manage_webhooks(client_for):
    for role in ("reader", "editor"):
        response = client_for(role).get("/v1/webhooks")
        assert_problem(response, 403)


def test_the_secret_is_shown_once_and_the_rest_can_be_managed(client, conn):
    created = client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": ["sighting.created"]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert created.headers["Cache-Control"] == "no-store"
    path = f"/v1/webhooks/{body['id']}"

    shown = client.get(path).get_json()
    assert "secret" not in shown and shown["enabled"] is True
    assert "secret" not in client.get("/v1/webhooks").get_json()["items"][0]

    moved = client.patch(path, json={"url": "http://127.0.0.1/hook"})
    assert_problem(moved, 422, "validation", errors="url")
    off = client.patch(path, json={"enabled": False, "event_types": ["rebuttal.created"]})
    assert off.get_json()["enabled"] is False
    assert off.get_json()["event_types"] == ["rebuttal.created"]

    rotated = client.post(f"{path}/rotate-secret", json={"overlap_hours": 2})
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] not in (body["secret"], None)
    assert client.get(path).get_json()["previous_secret_expires_at"]
    assert_problem(client.post(f"{path}/rotate-secret", json={"overlap_hours": 9999}), 422)

    assert client.get(f"{path}/deliveries").get_json() == {"items": [], "next_cursor": None}
    assert client.delete(path).status_code == 204
    assert_problem(client.get(path), 404)
    assert subscriptions(conn) == 0


def test_unknown_subscriptions_and_deliveries_are_404(client):
    missing = f"/v1/webhooks/{uuid.uuid4()}"
    assert_problem(client.get(missing), 404)
    assert_problem(client.get(f"{missing}/deliveries"), 404)
    assert_problem(client.post(f"{missing}/deliveries/{uuid.uuid4()}/redeliver"), 404)
    assert_problem(client.patch(missing, json={"enabled": False}), 404)
    assert_problem(client.get(f"{missing}/deliveries?cursor=nonsense"), 400, "bad-cursor")


def enqueued(conn) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT event_type, record_id::text AS record FROM webhook_messages ORDER BY created_at"
    ).fetchall()
    return [(row["event_type"], row["record"]) for row in rows]


def test_the_outbox_gets_each_event_once_and_honours_the_narrative_filter(client, conn):
    watched, other = create_narrative(client), create_narrative(client)
    client.post(
        "/v1/webhooks",
        json={
            "url": PUBLIC,
            "event_types": [
                "sighting.created",
                "rebuttal.created",
                "narrative.updated",
                "narrative.resighted_after_rebuttal",
            ],
            "narrative": watched["slug"],
        },
    )
    first = create_sighting(client, watched["slug"])
    create_sighting(client, other["slug"])
    rebuttal = create_rebuttal(client, [watched["slug"], other["slug"]])
    client.patch(
        f"/v1/narratives/{watched['slug']}",
        json={"summary": "new", "aliases": [{"text": "x", "language": "en"}]},
    )
    client.patch(f"/v1/narratives/{other['slug']}", json={"summary": "elsewhere"})
    again = create_sighting(client, watched["slug"])

    assert enqueued(conn) == [
        ("sighting.created", first["id"]),
        ("rebuttal.created", rebuttal["id"]),
        ("narrative.updated", watched["id"]),
        ("sighting.created", again["id"]),
        ("narrative.resighted_after_rebuttal", again["id"]),
    ]


def test_a_disabled_subscription_enqueues_nothing(client, conn):
    narrative = create_narrative(client)
    created = client.post(
        "/v1/webhooks",
        json={"url": PUBLIC, "event_types": ["sighting.created"], "enabled": False},
    )
    assert created.status_code == 201
    create_sighting(client, narrative["slug"])
    assert enqueued(conn) == []


def test_the_readme_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one():
    import re
    from pathlib import Path

    from service.domain import sender

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", readme.split("### Webhooks", 1)[1], re.S)[:1]
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    namespace: dict = {"__name__": "readme_receiver"}
    exec(example.replace("whsec_...", secret), namespace)
    receiver = namespace["app"].test_client()
    body = '{"type":"sighting.created","timestamp":"2024-03-26T12:00:00Z","data":{"id":"x"}}'

    signed = sender.headers("msg_1", body, [secret])
    assert receiver.post("/hooks/narratives", data=body, headers=signed).status_code == 204
    forged = sender.headers("msg_1", body, ["whsec_" + "A" * 43 + "="])
    assert receiver.post("/hooks/narratives", data=body, headers=forged).status_code == 400
