"""Webhook delivery by the worker to real receivers on loopback (allowed by the setting):
signatures checked with the `standardwebhooks` package, retries under one webhook-id, timeouts,
Retry-After, rollbacks, several workers at once, redelivery, rotation and disabling."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from service import config, create_app, db
from service.jobs import registry, webhooks, worker
from service.web import auth
from tests.factories import create_narrative, create_rebuttal, create_sighting, sighting_body
from tests.live import ROOT, free_port
from tests.receivers import Answer, Receiver

JOB = next(job for job in registry() if job.run is webhooks.deliver_due)
ALL_TYPES = [
    "sighting.created",
    "rebuttal.created",
    "narrative.updated",
    "narrative.resighted_after_rebuttal",
]


class Hooks:
    """A committed database, an app writing to it with an admin key, and the worker's job."""

    def __init__(self, url: str, **settings: str) -> None:
        self.url = url
        with db.connect(url) as conn, conn.transaction():
            key = auth.issue(conn, name="hooks-admin", role="admin", by="tests")["key"]
        self.app = create_app(
            {
                "DATABASE_URL": url,
                "TESTING": True,
                "DB_POOL_MIN_SIZE": 0,
                "AUTH_CACHE_SECONDS": 0,
                "RATE_LIMIT_PER_MINUTE": 0,
                "ACCESS_LOG": False,
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": True,
            }
        )
        self.client = self.app.test_client()
        self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        self.settings = config.read(
            {
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                "WEBHOOK_RETRY_BASE_SECONDS": "0.05",
                "WEBHOOK_TIMEOUT_SECONDS": "0.5",
                **settings,
            }
        )

    def subscribe(self, url: str, types: list[str] = ALL_TYPES, **extra: Any) -> dict:
        response = self.client.post(
            "/v1/webhooks", json={"url": url, "event_types": types, **extra}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def deliver_until(self, done, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "deliveries did not happen in time"
            worker.run_once(self.url, JOB, self.settings)
            time.sleep(0.02)

    def deliveries(self, webhook_id: str) -> list[dict]:
        response = self.client.get(f"/v1/webhooks/{webhook_id}/deliveries?limit=200")
        assert response.status_code == 200
        return response.get_json()["items"]

    def scalar(self, query: str, *params: Any) -> Any:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchone()[0]


@pytest.fixture
def hooks(migrated_database):
    with migrated_database("webhooks") as url:
        made = Hooks(url)
        yield made
        made.app.extensions["narratives.db"].close()


def test_every_event_arrives_once_and_verifies_with_standardwebhooks(hooks):
    with Receiver() as receiver:
        secret = hooks.subscribe(receiver.url)["secret"]
        narrative = create_narrative(hooks.client)
        first = create_sighting(hooks.client, narrative["slug"])
        rebuttal = create_rebuttal(hooks.client, [narrative["slug"]])
        # Title and aliases in one request: one narrative.updated, not one per statement.
        patched = hooks.client.patch(
            f"/v1/narratives/{narrative['slug']}",
            json={"title": "Renamed", "aliases": [{"text": "другое", "language": "ru"}]},
        )
        assert patched.status_code == 200
        again = create_sighting(hooks.client, narrative["slug"])
        hooks.deliver_until(lambda: receiver.count() >= 5)
        time.sleep(0.2)
        worker.run_once(hooks.url, JOB, hooks.settings)

    assert receiver.count() == 5
    verified = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    by_type = {}
    for payload in verified:
        by_type.setdefault(payload["type"], []).append(payload["data"])
    assert sorted(by_type) == sorted(ALL_TYPES)
    assert [d["id"] for d in by_type["sighting.created"]] == [first["id"], again["id"]]
    assert by_type["rebuttal.created"][0]["id"] == rebuttal["id"]
    assert by_type["narrative.updated"][0]["title"] == "Renamed"
    resighted = by_type["narrative.resighted_after_rebuttal"][0]
    assert resighted["sighting"]["id"] == again["id"]
    assert resighted["narrative"]["id"] == narrative["id"]
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(ids)) == 5 and all(i.startswith("msg_") for i in ids)


def test_a_failing_receiver_is_retried_under_the_same_webhook_id(hooks):
    script = lambda n: Answer(500) if n == 0 else Answer(200)  # noqa: E731
    with Receiver(script) as receiver:
        sub = hooks.subscribe(receiver.url, ["sighting.created"])
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        hooks.deliver_until(lambda: receiver.count() >= 2)

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    for r in receiver.received:
        Webhook(sub["secret"]).verify(r.body, r.headers)
    log = hooks.deliveries(sub["id"])
    assert [(d["outcome"], d["status_code"]) for d in log] == [("delivered", 200), ("retry", 500)]
    assert log[1]["error"] == "HTTP 500" and log[1]["latency_ms"] >= 0
    assert log[0]["message_id"] == first.headers["webhook-id"]


def test_a_receiver_that_times_out_is_retried_and_recovers(hooks):
    script = lambda n: Answer(200, delay=2.0) if n == 0 else Answer(200)  # noqa: E731
    with Receiver(script) as receiver:
        sub = hooks.subscribe(receiver.url, ["sighting.created"])
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        hooks.deliver_until(lambda: len(hooks.deliveries(sub["id"])) >= 2)

    log = hooks.deliveries(sub["id"])
    assert [d["outcome"] for d in log] == ["delivered", "retry"]
    assert log[1]["status_code"] is None and log[1]["error"] == "timeout"
    assert 400 <= log[1]["latency_ms"] < 1500  # the 0.5 s timeout, not the receiver's 2 s
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_retry_after_is_honoured_after_a_429(hooks):
    script = lambda n: Answer(429, headers={"Retry-After": "2"}) if n == 0 else Answer()  # noqa: E731
    with Receiver(script) as receiver:
        hooks.subscribe(receiver.url, ["sighting.created"])
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        hooks.deliver_until(lambda: receiver.count() >= 2)

    gap = receiver.received[1].at - receiver.received[0].at
    assert gap >= 1.9  # the backoff alone would have retried after ~0.05 s


def test_a_change_that_rolls_back_is_never_delivered(hooks):
    with Receiver() as receiver:
        hooks.subscribe(receiver.url, ["sighting.created", "narrative.updated"])
        narrative = create_narrative(hooks.client)
        with psycopg.connect(hooks.url) as conn:
            conn.execute(
                "INSERT INTO sightings (narrative_id, observed_at, source_name, source_kind, "
                "language) VALUES (%s, now(), 'SHOT', 'outlet', 'ru')",
                (narrative["id"],),
            )
            conn.execute("UPDATE narratives SET title = 'never' WHERE id = %s", (narrative["id"],))
            assert conn.execute("SELECT count(*) FROM webhook_messages").fetchone()[0] == 2
            conn.rollback()
        kept = create_sighting(hooks.client, narrative["slug"])
        hooks.deliver_until(lambda: receiver.count() >= 1)
        time.sleep(0.2)
        worker.run_once(hooks.url, JOB, hooks.settings)

    assert receiver.count() == 1
    delivered = receiver.received[0]
    assert Webhook  # the one committed sighting, and nothing of the rolled-back transaction
    assert kept["id"].encode() in delivered.body
    assert hooks.scalar("SELECT count(*) FROM webhook_messages") == 1


def test_several_workers_at_once_never_send_one_message_twice(hooks):
    with Receiver() as receiver:
        hooks.subscribe(receiver.url, ["sighting.created"])
        narrative = create_narrative(hooks.client)
        batch = [sighting_body(narrative["slug"]) for _ in range(40)]
        assert hooks.client.post("/v1/sightings", json={"sightings": batch}).status_code == 200
        stop, errors = threading.Event(), []

        def work() -> None:
            try:
                while not stop.is_set():
                    worker.run_once(hooks.url, JOB, hooks.settings)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while receiver.count() < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join()

    assert not errors
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert hooks.scalar("SELECT count(*) FROM webhook_attempts") == 40


def test_redeliver_sends_the_same_event_again(hooks):
    with Receiver() as receiver:
        sub = hooks.subscribe(receiver.url, ["sighting.created"])
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        hooks.deliver_until(lambda: receiver.count() >= 1)
        attempt = hooks.deliveries(sub["id"])[0]

        response = hooks.client.post(
            f"/v1/webhooks/{sub['id']}/deliveries/{attempt['id']}/redeliver"
        )
        assert response.status_code == 202
        assert response.get_json()["message_id"] == attempt["message_id"]
        hooks.deliver_until(lambda: receiver.count() >= 2)

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == attempt["message_id"]
    assert first.body == second.body
    assert len(hooks.deliveries(sub["id"])) == 2


def test_rotation_signs_with_both_secrets_during_the_overlap(hooks):
    with Receiver() as receiver:
        sub = hooks.subscribe(receiver.url, ["sighting.created"])
        rotated = hooks.client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", json={})
        assert rotated.status_code == 200
        new_secret = rotated.get_json()["secret"]
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        hooks.deliver_until(lambda: receiver.count() >= 1)

    delivered = receiver.received[0]
    assert len(delivered.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(delivered.body, delivered.headers)
    Webhook(sub["secret"]).verify(delivered.body, delivered.headers)
    assert new_secret != sub["secret"] and new_secret.startswith("whsec_")


def test_a_subscription_failing_n_times_is_disabled_with_a_reason(migrated_database):
    with migrated_database("webhooks_disable") as url, Receiver(lambda n: Answer(500)) as receiver:
        hooks = Hooks(url, WEBHOOK_DISABLE_AFTER_FAILURES="3")
        try:
            sub = hooks.subscribe(receiver.url, ["sighting.created"])
            narrative = create_narrative(hooks.client)
            for _ in range(2):
                create_sighting(hooks.client, narrative["slug"])
            path = f"/v1/webhooks/{sub['id']}"
            hooks.deliver_until(lambda: not hooks.client.get(path).get_json()["enabled"])
            for _ in range(5):  # a disabled subscription gets nothing more
                worker.run_once(url, JOB, hooks.settings)
                time.sleep(0.06)
            state = hooks.client.get(path).get_json()
            pending = hooks.scalar("SELECT count(*) FROM webhook_messages WHERE status = 'pending'")
        finally:
            hooks.app.extensions["narratives.db"].close()

    assert receiver.count() == 3
    assert state["enabled"] is False
    assert state["disabled_reason"].startswith("Disabled after 3 failed deliveries in a row")
    assert "HTTP 500" in state["disabled_reason"]
    assert pending == 2  # kept, to go out if an admin switches it back on


def test_a_target_that_turned_private_is_refused_at_delivery_time(hooks):
    with Receiver() as receiver:
        # Created while allowed; delivered by a worker that allows public targets only, as a
        # name that resolved to a public address and now answers 127.0.0.1 would be.
        sub = hooks.subscribe(receiver.url, ["sighting.created"])
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        strict = config.read({"WEBHOOK_RETRY_BASE_SECONDS": "0.05"})
        worker.run_once(hooks.url, JOB, strict)

    assert receiver.count() == 0
    [attempt] = hooks.deliveries(sub["id"])
    assert attempt["outcome"] == "retry" and attempt["status_code"] is None
    assert attempt["error"].startswith("target refused: ") and "loopback" in attempt["error"]


def test_the_worker_process_delivers_and_serves_its_metrics(hooks):
    with Receiver() as receiver:
        hooks.subscribe(receiver.url, ["sighting.created"])
        create_sighting(hooks.client, create_narrative(hooks.client)["slug"])
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": hooks.url,
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "WORKER_METRICS_PORT": str(port),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            metrics = ""
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as page:
                        metrics = page.read().decode()
                except OSError:
                    metrics = ""
                if receiver.count() and 'outcome="delivered"} 1.0' in metrics:
                    break
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)

    assert receiver.count() == 1
    assert 'narratives_webhook_deliveries_total{outcome="delivered"} 1.0' in metrics
    assert "narratives_webhook_queue_depth 0.0" in metrics
    assert "narratives_webhook_oldest_pending_seconds 0.0" in metrics
