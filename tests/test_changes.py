"""/v1/changes: what the feed says about each kind of write, its filters and its cursor.

The feed shows only transactions older than the oldest one running, so these tests write
through an app that commits (a database of their own), not inside the per-test transaction."""

import base64
import time
import urllib.parse
import uuid
from datetime import UTC, datetime

import pytest

from service import create_app, db
from service.web import auth, pagination
from tests.factories import create_narrative, create_rebuttal, create_sighting
from tests.problems import assert_problem

WAIT_SECONDS = 60  # another session's long transaction on a shared server holds the feed back


@pytest.fixture(scope="module")
def feed(migrated_database):
    with migrated_database("changes") as url:
        with db.connect(url) as conn, conn.transaction():
            key = auth.issue(conn, name="feed-editor", role="admin", by="tests")["key"]
        app = create_app(
            {
                "DATABASE_URL": url,
                "TESTING": True,
                "DB_POOL_MIN_SIZE": 0,
                "AUTH_CACHE_SECONDS": 0,
                "RATE_LIMIT_PER_MINUTE": 0,
                "ACCESS_LOG": False,
            }
        )
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        yield client
        app.extensions["narratives.db"].close()


def read_all(client, *, until: int, **query) -> list[dict]:
    """Page through the feed from the start, waiting until it holds `until` events."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        events, cursor = [], None
        while True:
            params = {**query, **({"after": cursor} if cursor else {})}
            response = client.get("/v1/changes?" + urllib.parse.urlencode(params))
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            events += body["items"]
            cursor = body["next_cursor"]
            assert cursor
            if not body["has_more"]:
                break
        if len(events) >= until or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_each_kind_of_write_is_one_event_in_commit_order(feed):
    narrative = create_narrative(feed)
    sighting = create_sighting(feed, narrative["slug"])
    feed.patch(f"/v1/sightings/{sighting['id']}", json={"status": "confirmed"})
    # Aliases only: the narrative row's own columns do not change, its list does.
    feed.patch(
        f"/v1/narratives/{narrative['slug']}", json={"aliases": [{"text": "x", "language": "en"}]}
    )
    rebuttal = create_rebuttal(feed, [narrative["slug"]])
    assert feed.delete(f"/v1/rebuttals/{rebuttal['id']}").status_code == 204
    assert feed.delete(f"/v1/narratives/{narrative['slug']}").status_code == 204

    events = read_all(feed, until=7, narrative=narrative["id"], limit=2)

    assert [(e["type"], e["resource_id"]) for e in events] == [
        ("narrative.created", narrative["id"]),
        ("sighting.created", sighting["id"]),
        ("sighting.updated", sighting["id"]),
        ("narrative.updated", narrative["id"]),
        ("rebuttal.created", rebuttal["id"]),
        ("rebuttal.deleted", rebuttal["id"]),
        ("narrative.archived", narrative["id"]),
    ]
    assert len({e["id"] for e in events}) == 7
    assert all(e["by"] == "feed-editor" for e in events)
    # The resource as GET shows it now: the sighting confirmed, the narrative archived.
    assert events[1]["resource"]["status"] == "confirmed"
    assert events[0]["resource"]["status"] == "archived"
    assert events[0]["resource"] == feed.get(f"/v1/narratives/{narrative['id']}").get_json()
    # Gone: only its id.
    assert events[4]["resource"] is None and events[5]["resource"] is None


def test_types_filter_and_keys_stay_out(feed):
    narrative = create_narrative(feed)
    created = create_sighting(feed, narrative["slug"])
    feed.post("/v1/keys", json={"name": f"k-{uuid.uuid4().hex[:8]}", "role": "reader"})

    events = read_all(feed, until=1, types="sighting.created", narrative=narrative["slug"])
    assert [(e["type"], e["resource_id"]) for e in events] == [("sighting.created", created["id"])]
    everything = read_all(feed, until=1, limit=500)
    assert {e["resource_type"] for e in everything} <= {"narrative", "sighting", "rebuttal"}


def test_an_idle_poll_returns_nothing_and_a_cursor_to_keep(feed):
    first = feed.get("/v1/changes?limit=500").get_json()
    cursor = first["next_cursor"]
    while True:
        page = feed.get(f"/v1/changes?limit=500&after={cursor}").get_json()
        cursor = page["next_cursor"]
        if not page["items"]:
            break
    again = feed.get(f"/v1/changes?after={cursor}").get_json()
    assert again["items"] == [] and again["has_more"] is False and again["next_cursor"]


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        _cursor("[]"),
        _cursor('["changes", "12", 3]'),
        _cursor('["changes", "-1", 3, "x"]'),
        _cursor('["changes", "99999999999999999999999", 3, "x"]'),
        _cursor('["changes", "1", true, "x"]'),
        # a cursor of another list
        pagination.encode("narratives", datetime(2024, 1, 1, tzinfo=UTC), uuid.uuid4()),
    ],
)
def test_a_bad_or_foreign_cursor_is_a_400(client, cursor):
    assert_problem(client.get(f"/v1/changes?after={cursor}"), 400, "bad-cursor", errors="after")


def test_a_cursor_only_works_with_the_filters_it_was_made_with(client):
    cursor = client.get("/v1/changes?types=sighting.created").get_json()["next_cursor"]
    body = assert_problem(client.get(f"/v1/changes?after={cursor}"), 400, "bad-cursor")
    assert "other filters" in body["detail"]


def test_bad_filters_are_precise_problems(client):
    assert_problem(client.get("/v1/changes?types=key.created"), 422, errors="types.0")
    assert_problem(client.get("/v1/changes?limit=0"), 422, errors="limit")
    assert_problem(client.get("/v1/changes?cursor=x"), 422, errors="cursor")
    assert_problem(client.get("/v1/changes?narrative=no-such-narrative"), 404, "not-found")


def test_readers_may_read_the_feed(client_for):
    assert client_for("reader").get("/v1/changes").status_code == 200


def test_a_sparse_filter_pages_through_bounded_scans_without_losing_its_place(feed, monkeypatch):
    from service.repo import changes as repo

    narrative = create_narrative(feed)
    for _ in range(4):
        create_sighting(feed, narrative["slug"])
    wanted = read_all(feed, until=1, types="narrative.created", narrative=narrative["id"])
    assert [e["resource_id"] for e in wanted] == [narrative["id"]]

    monkeypatch.setattr(repo, "SCAN_ROWS", 2)  # each request reads two audit rows at most
    pages, events, cursor = 0, [], None
    while True:
        params = {"types": "sighting.created", "narrative": narrative["id"], "limit": 10}
        if cursor:
            params["after"] = cursor
        body = feed.get("/v1/changes?" + urllib.parse.urlencode(params)).get_json()
        pages += 1
        events += body["items"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert len(events) == 4 and len({e["id"] for e in events}) == 4
    assert pages > 4  # bounded scans: some pages came back empty but said there was more
