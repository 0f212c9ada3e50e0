"""Monitors keep posting sightings, retrying as a careful client would, while PostgreSQL is
restarted (twice, `pg_ctl restart -m fast`), stopped for two seconds, and gunicorn workers are
killed with SIGKILL (twice). Afterwards the database must hold every
sighting the service acknowledged, exactly once, under the id it acknowledged, and nothing twice;
and no response may have been a 5xx other than 503.

Monitors post single sightings (each with an Idempotency-Key) and batches of five (half with an
Idempotency-Key, half relying on the natural identity: URL and external_id). A request is retried
with the same body and key on a connection error, a timeout or any 5xx, with a short backoff.

Knobs (environment): RELIABILITY_FAULT_SECONDS (load duration, default 20),
RELIABILITY_MONITORS (threads, default 6).
"""

from __future__ import annotations

import http.client
import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from reliability.figures import FIGURES
from reliability.harness import Gunicorn, Postgres, Response, issue_key

SECTION = "faults (pg restart + SIGKILL)"
REQUEST_TIMEOUT = 15  # seconds; no request may take this long, outage or not
MAX_ATTEMPTS = 40


@dataclass
class Item:
    body: dict
    url: str
    external_id: str
    acked_id: str | None = None
    acks: int = 0


@dataclass
class Tally:
    """What the monitors saw; shared by the threads (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    requests: int = 0
    retries: int = 0
    connection_errors: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    replayed: int = 0
    unexpected: list = field(default_factory=list)  # (what, detail), kept short
    gave_up: int = 0
    conflicting_acks: list = field(default_factory=list)

    def note(self, what: str, detail: str) -> None:
        with self.lock:
            if len(self.unexpected) < 30:
                self.unexpected.append((what, detail[:400]))


class Monitor(threading.Thread):
    def __init__(
        self,
        n: int,
        server: Gunicorn,
        key: str,
        narratives: list[str],
        run: str,
        stop_at: float,
        give_up_at: float,
        tally: Tally,
    ) -> None:
        super().__init__(name=f"monitor-{n}", daemon=True)
        self.n = n
        self.server = server
        self.key = key
        self.narratives = narratives
        self.run_id = run
        self.stop_at = stop_at
        self.give_up_at = give_up_at
        self.tally = tally
        self.items: list[Item] = []
        self.random = random.Random(n)
        self.seq = 0

    def _item(self) -> Item:
        self.seq += 1
        url = f"https://reliability.example/{self.run_id}/m{self.n}/{self.seq}?utm_source=x"
        external_id = f"{self.run_id}-m{self.n}-{self.seq}"
        body = {
            "narrative": self.random.choice(self.narratives),
            "observed_at": f"2024-03-{self.seq % 28 + 1:02d}T12:00:00Z",
            "url": url,
            "source": {"name": f"Monitor {self.n} channel", "kind": "channel"},
            "quote": f"item {self.seq} of monitor {self.n}",
            "language": "ru",
            "external_id": external_id,
            "confidence": 0.5,
        }
        item = Item(body, url, external_id)
        self.items.append(item)
        return item

    def run(self) -> None:
        while time.monotonic() < self.stop_at:
            if self.random.random() < 0.5:
                item = self._item()
                key = f"{self.run_id}-m{self.n}-single-{self.seq}"
                self._send(item.body, [item], key)
            else:
                items = [self._item() for _ in range(5)]
                key = (
                    f"{self.run_id}-m{self.n}-batch-{self.seq}"
                    if self.random.random() < 0.5
                    else None
                )
                self._send({"sightings": [i.body for i in items]}, items, key)

    def _send(self, body: dict, items: list[Item], idempotency_key: str | None) -> None:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                with self.tally.lock:
                    self.tally.retries += 1
            if time.monotonic() > self.give_up_at:
                break
            response = self._attempt(body, headers)
            if response is None or response.status >= 500:
                delay = min(1.0, 0.1 * 2**attempt) * (0.5 + self.random.random())
                if response is not None and response.header("Retry-After"):
                    delay = min(delay, float(response.header("Retry-After")))
                time.sleep(delay)
                continue
            self._acknowledge(body, items, response)
            return
        with self.tally.lock:
            self.tally.gave_up += len(items)

    def _attempt(self, body: dict, headers: dict) -> Response | None:
        with self.tally.lock:
            self.tally.requests += 1
        try:
            response = self.server.request(
                "POST", "/v1/sightings", body, headers, key=self.key, timeout=REQUEST_TIMEOUT
            )
        except (OSError, http.client.HTTPException) as error:
            with self.tally.lock:
                self.tally.connection_errors[type(error).__name__] += 1
            return None
        with self.tally.lock:
            self.tally.statuses[response.status] += 1
            self.tally.slowest = max(self.tally.slowest, response.elapsed)
            if response.header("Idempotent-Replayed") == "true":
                self.tally.replayed += 1
        if response.status >= 500 and response.status != 503:
            self.tally.note(f"{response.status} on POST /v1/sightings", response.describe())
        if response.status == 503 and not response.header("Retry-After"):
            self.tally.note("503 without Retry-After", response.describe())
        return response

    def _acknowledge(self, body: dict, items: list[Item], response: Response) -> None:
        try:
            payload = response.json()
        except ValueError:
            self.tally.note(f"{response.status} not JSON", response.describe())
            return
        if "sightings" not in body:
            if response.status not in (200, 201) or "id" not in payload:
                self.tally.note(f"single got {response.status}", response.describe())
                return
            self._ack(items[0], payload["id"])
            return
        if response.status != 200:
            self.tally.note(f"batch got {response.status}", response.describe())
            return
        for item, result in zip(items, payload["results"], strict=True):
            if result.get("status") in ("created", "duplicate") and result.get("id"):
                self._ack(item, result["id"])
            else:
                self.tally.note("batch item not accepted", str(result))

    def _ack(self, item: Item, id_: str) -> None:
        if item.acked_id is not None and item.acked_id != id_:
            with self.tally.lock:
                self.tally.conflicting_acks.append((item.url, item.acked_id, id_))
        item.acked_id = id_
        item.acks += 1


class Chaos(threading.Thread):
    """At fixed offsets: restart PostgreSQL, SIGKILL a worker; records what it did."""

    def __init__(self, postgres: Postgres, server: Gunicorn, started: float, plan) -> None:
        super().__init__(name="chaos", daemon=True)
        self.postgres = postgres
        self.server = server
        self.started = started
        self.plan = plan
        self.done: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        for offset, action in self.plan:
            time.sleep(max(0.0, self.started + offset - time.monotonic()))
            at = time.monotonic() - self.started
            try:
                if action == "restart":
                    began = time.monotonic()
                    self.postgres.restart()
                    self.done.append(f"{at:.1f}s pg restart ({time.monotonic() - began:.1f}s)")
                elif action == "outage":
                    self.postgres.stop()
                    time.sleep(2)
                    self.postgres.start()
                    self.done.append(
                        f"{at:.1f}s pg down for {time.monotonic() - self.started - at:.1f}s"
                    )
                elif action == "kill":
                    pid = self.server.kill_worker()
                    self.done.append(f"{at:.1f}s SIGKILL worker {pid}")
            except Exception as error:
                self.errors.append(f"{action} at {at:.1f}s: {error}")


def _stored(database_url: str, run: str) -> list[dict]:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cursor.execute(
            "SELECT id::text, url, external_id, reported_by FROM sightings WHERE url LIKE %s",
            (f"https://reliability.example/{run}/%",),
        ).fetchall()


def test_acknowledged_sightings_survive_restarts_and_killed_workers_exactly_once(
    postgres, database_url, start_gunicorn
):
    duration = float(os.environ.get("RELIABILITY_FAULT_SECONDS", "20"))
    monitors = int(os.environ.get("RELIABILITY_MONITORS", "6"))
    run = uuid.uuid4().hex[:8]

    admin, _ = issue_key(database_url, f"faults-admin-{run}", "admin")
    keys = [
        issue_key(database_url, f"faults-monitor-{run}-{n}", "monitor")[0] for n in range(monitors)
    ]
    server = start_gunicorn(workers=3, key=admin)
    narratives = []
    for n in range(3):
        slug = f"faults-{run}-{n}"
        response = server.request(
            "POST", "/v1/narratives", {"slug": slug, "title": f"Fault narrative {n}"}
        )
        assert response.status == 201, response.describe()
        narratives.append(slug)
    workers_before = server.worker_pids()

    tally = Tally()
    started = time.monotonic()
    stop_at = started + duration
    threads = [
        Monitor(n, server, keys[n], narratives, run, stop_at, stop_at + 30, tally)
        for n in range(monitors)
    ]
    plan = [
        (duration * 0.15, "restart"),
        (duration * 0.30, "kill"),
        (duration * 0.45, "outage"),
        (duration * 0.65, "kill"),
        (duration * 0.80, "restart"),
    ]
    chaos = Chaos(postgres, server, started, plan)
    for thread in [*threads, chaos]:
        thread.start()
    for thread in [*threads, chaos]:
        thread.join(timeout=max(1.0, stop_at + 60 - time.monotonic()))
    hung = [thread.name for thread in [*threads, chaos] if thread.is_alive()]

    if not postgres.running():  # a failed restart must not hide the verdict on the data
        postgres.start()
    rows = _stored(database_url, run)
    items = [item for thread in threads for item in thread.items]
    acked = [item for item in items if item.acked_id]
    stored_by_url: dict[str, list[dict]] = {}
    for row in rows:
        stored_by_url.setdefault(row["url"], []).append(row)
    by_external_id = Counter((row["reported_by"], row["external_id"]) for row in rows)
    duplicates = sum(len(found) - 1 for found in stored_by_url.values() if len(found) > 1)
    duplicates += sum(n - 1 for n in by_external_id.values() if n > 1)
    lost = [item.url for item in acked if item.url not in stored_by_url]
    wrong_id = [
        (item.url, item.acked_id, [row["id"] for row in stored_by_url[item.url]])
        for item in acked
        if item.url in stored_by_url
        and item.acked_id not in {r["id"] for r in stored_by_url[item.url]}
    ]
    server_errors = sum(
        n for status, n in tally.statuses.items() if status >= 500 and status != 503
    )

    FIGURES.set(SECTION, "requests sent", tally.requests)
    FIGURES.set(SECTION, "acknowledged", len(acked))
    FIGURES.set(SECTION, "stored", len(rows))
    FIGURES.set(SECTION, "duplicates", duplicates)
    FIGURES.set(SECTION, "lost", len(lost))
    FIGURES.set(SECTION, "5xx", server_errors)
    FIGURES.set(SECTION, "503", tally.statuses.get(503, 0))
    FIGURES.set(SECTION, "connection errors", sum(tally.connection_errors.values()))
    FIGURES.set(SECTION, "retries", tally.retries)
    FIGURES.set(SECTION, "items sent", len(items))
    FIGURES.set(SECTION, "gave up", tally.gave_up)
    FIGURES.set(SECTION, "replayed", tally.replayed)
    FIGURES.set(SECTION, "slowest s", round(tally.slowest, 2))
    FIGURES.set(SECTION, "chaos", "; ".join(chaos.done) or "none")

    detail = (
        f"statuses {dict(tally.statuses)}, replayed {tally.replayed}, connection errors {dict(tally.connection_errors)}, "
        f"chaos {chaos.done} {chaos.errors}, unexpected {tally.unexpected}"
    )
    failures = [
        f"threads still running after their deadline: {hung}" if hung else "",
        f"the faults could not be injected: {chaos.errors}" if chaos.errors else "",
        f"not every fault was injected: {chaos.done}" if len(chaos.done) != len(plan) else "",
        "nothing was acknowledged or stored" if not (rows and acked) else "",
        f"{len(lost)} acknowledged sightings are not stored, e.g. {lost[:3]}" if lost else "",
        f"{duplicates} sightings stored more than once" if duplicates else "",
        f"acknowledged under another id than stored: {wrong_id[:3]}" if wrong_id else "",
        f"one item acknowledged under two ids: {tally.conflicting_acks[:3]}"
        if tally.conflicting_acks
        else "",
        f"{server_errors} responses were 5xx other than 503" if server_errors else "",
        f"unexpected answers: {tally.unexpected}" if tally.unexpected else "",
        f"{tally.gave_up} items never acknowledged" if tally.gave_up else "",
    ]
    failures = [failure for failure in failures if failure]
    assert not failures, "\n".join([*failures, detail])
    # The service is whole again: ready, with its full complement of workers.
    assert server.request("GET", "/readyz", timeout=10).status == 200
    assert len(server.worker_pids()) == len(workers_before)
