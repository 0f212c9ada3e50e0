"""The change feed never skips an event and never repeats one, whatever order transactions
commit in.

Writers run at once against a real gunicorn and over direct connections: short HTTP writes
(sightings, narrative edits) from several threads, and long transactions shaped to commit out
of order: one takes its transaction id first and commits last; one takes its id early but
writes late and commits early, while another that started after it writes early and commits
late (id order and commit order then disagree); one rolls back. A consumer polls the feed over
HTTP with small pages all the while, keeping only its cursor. At the end it must have seen
every committed change exactly once and nothing of the rolled-back transaction.
"""

import threading
import time
import urllib.parse
import uuid
from collections import Counter

import psycopg
import pytest

from tests.factories import narrative_body, sighting_body
from tests.live import admin_key, gunicorn

DRAIN_SECONDS = 120  # a shared test server's other long transactions hold the feed back too


@pytest.fixture
def feed_db(migrated_database):
    with migrated_database("changes_nogap") as url:
        yield url


def _insert_narrative(conn: psycopg.Connection, slug: str) -> uuid.UUID:
    return conn.execute(
        "INSERT INTO narratives (slug, title, created_by, updated_by) "
        "VALUES (%s, %s, 'direct', 'direct') RETURNING id",
        (slug, slug),
    ).fetchone()[0]


def _insert_sighting(conn: psycopg.Connection, narrative: uuid.UUID) -> uuid.UUID:
    return conn.execute(
        "INSERT INTO sightings (narrative_id, observed_at, source_name, source_kind, language, "
        "reported_by) VALUES (%s, now(), 'SHOT', 'outlet', 'ru', 'direct') RETURNING id",
        (narrative,),
    ).fetchone()[0]


class Ledger:
    """What the writers committed: the events the consumer must see, each once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expected: Counter[tuple[str, str]] = Counter()
        self.forbidden: set[str] = set()

    def add(self, *events: tuple[str, object]) -> None:
        with self.lock:
            self.expected.update((kind, str(id_)) for kind, id_ in events)

    def covered_by(self, seen: list[dict]) -> bool:
        with self.lock:
            return not self.expected - Counter((e["type"], e["resource_id"]) for e in seen)


def long_transaction(url, ledger, *, start, write_at, commit_at, rollback=False, errors):
    """Take a transaction id at `start`, write at `write_at`, end at `commit_at` (seconds)."""
    t0 = time.monotonic()
    try:
        with psycopg.connect(url) as conn:
            time.sleep(start)
            conn.execute("SELECT pg_current_xact_id()")  # the transaction's id, taken now
            time.sleep(max(0, write_at - (time.monotonic() - t0)))
            narrative = _insert_narrative(conn, f"long-{uuid.uuid4().hex[:10]}")
            sightings = [_insert_sighting(conn, narrative) for _ in range(3)]
            conn.execute("SELECT pg_sleep(%s)", (max(0, commit_at - (time.monotonic() - t0)),))
            events = [("narrative.created", narrative)]
            events += [("sighting.created", s) for s in sightings]
            if rollback:
                conn.rollback()
                ledger.forbidden.update(str(id_) for _, id_ in events)
            else:
                conn.commit()
                ledger.add(*events)
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)


def short_writer(server, ledger, narrative_slug, until, errors):
    try:
        while time.monotonic() < until:
            status, _, body = server.request("POST", "/v1/sightings", sighting_body(narrative_slug))
            assert status == 201, body
            ledger.add(("sighting.created", body["id"]))
            summary = f"edited {uuid.uuid4().hex}"
            status, _, body = server.request(
                "PATCH", f"/v1/narratives/{narrative_slug}", {"summary": summary}
            )
            assert status == 200, body
            ledger.add(("narrative.updated", body["id"]))
            # Paced so that the consumer keeps up: skipping happens at the head of the feed,
            # so that is where it must be reading when transactions commit out of order.
            time.sleep(0.03)
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)


class Consumer:
    def __init__(self, server) -> None:
        self.server = server
        self.cursor: str | None = None
        self.seen: list[dict] = []

    def poll(self) -> int:
        query = {"limit": "10"}
        if self.cursor:
            query["after"] = self.cursor
        status, _, body = self.server.request("GET", "/v1/changes?" + urllib.parse.urlencode(query))
        assert status == 200, body
        self.seen.extend(body["items"])
        self.cursor = body["next_cursor"]
        return len(body["items"])

    def run(self, stop: threading.Event, errors: list) -> None:
        try:
            while not stop.is_set():
                self.poll()
                time.sleep(0.01)
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(exc)


def test_a_polling_consumer_sees_every_committed_change_exactly_once(feed_db):
    ledger, errors = Ledger(), []
    with gunicorn(feed_db, workers=3) as server:
        server.authorize(admin_key(feed_db, "feed-admin"))
        slugs = []
        for _ in range(3):
            status, _, body = server.request("POST", "/v1/narratives", narrative_body())
            assert status == 201
            ledger.add(("narrative.created", body["id"]))
            slugs.append(body["slug"])
        consumer, stop = Consumer(server), threading.Event()
        reader = threading.Thread(target=consumer.run, args=(stop, errors))
        reader.start()

        t0 = time.monotonic()
        longs = [
            # Started before everything else in its window, commits after all of it: the
            # short writes it overlaps wait for it.
            dict(start=0.0, write_at=0.1, commit_at=2.0),
            # Rolled back: none of it may ever appear.
            dict(start=0.3, write_at=0.6, commit_at=1.8, rollback=True),
            # After it, id order and commit order disagree: this one takes its transaction id
            # first but writes late (higher audit ids) and commits early...
            dict(start=2.2, write_at=3.5, commit_at=3.6),
            # ...while this one, started after it, writes early and commits late.
            dict(start=2.4, write_at=2.5, commit_at=5.0),
        ]
        writers = [
            threading.Thread(
                target=long_transaction, args=(feed_db, ledger), kwargs=dict(**spec, errors=errors)
            )
            for spec in longs
        ]
        writers += [
            threading.Thread(target=short_writer, args=(server, ledger, slug, t0 + 5.5, errors))
            for slug in slugs
        ]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        assert not errors, errors

        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            if ledger.covered_by(list(consumer.seen)):
                break
            time.sleep(0.2)
        stop.set()
        reader.join()
        for _ in range(1000):  # and nothing is left behind the cursor
            if not consumer.poll():
                break
    assert not errors, errors

    seen_ids = [e["id"] for e in consumer.seen]
    assert len(seen_ids) == len(set(seen_ids)), "an event was delivered twice"
    seen = Counter((e["type"], e["resource_id"]) for e in consumer.seen)
    missing = ledger.expected - seen
    total = sum(ledger.expected.values())
    assert not missing, f"{sum(missing.values())} of {total} committed changes skipped"
    assert not seen - ledger.expected, "a change was delivered twice, or one never made"
    assert not {resource for _, resource in seen} & ledger.forbidden
    assert total > 100
