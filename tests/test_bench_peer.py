"""The benchmark's peer (bench/peer_app.py, FastAPI + pydantic) must do the service's work, or
the service/peer ratios compare nothing: refuse the sightings the service refuses and store what
it stores, check the same keys, and answer every measured path (bench/paths.py) with the
service's bytes. Both apps run in process on one committed database, no server started."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg.sql
import pytest
from fastapi.testclient import TestClient
from flask import Flask

from bench import database as bench_database
from bench import match_flow, match_texts, peer_app, same, seed
from bench.paths import PATHS
from service import create_app, db
from service.api import match as match_api
from service.matching.periodic import Periodic
from service.repo import narratives as narratives_repo
from service.repo import sightings as sightings_repo

_SIGHTING = {
    "narrative": "biolabs-in-ukraine",
    "observed_at": "2024-03-26T12:00:00Z",
    "source": {"name": "SHOT", "kind": "channel"},
    "language": "ru",
}


_CATALOGUE = 200


@pytest.fixture(scope="module")
def seeded(migrated_database) -> Iterator[tuple[str, dict[str, str]]]:
    """A committed copy of the benchmark's data, small: the peer has a pool of its own, so it
    cannot see a test's uncommitted rows. The match texts are made for its smaller catalogue."""
    with migrated_database("bench_peer") as url, pytest.MonkeyPatch.context() as patch:
        seed.seed(url, 300, catalogue=_CATALOGUE)
        patch.setattr(match_texts, "CATALOGUE", _CATALOGUE)
        yield url, bench_database.issue_keys(url)


@pytest.fixture(scope="module")
def service_app(seeded) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": seeded[0],
            "DB_POOL_MIN_SIZE": 0,
            "RATE_LIMIT_PER_MINUTE": 0,
            "ACCESS_LOG": False,
        }
    )
    yield app
    app.extensions[db.EXTENSION].close()


@pytest.fixture(scope="module")
def peer(seeded) -> Iterator[TestClient]:
    with TestClient(peer_app.build({"DATABASE_URL": seeded[0], "DB_POOL_MIN_SIZE": 0})) as client:
        yield client


def _service_send(app: Flask) -> same.Send:
    client = app.test_client()

    def send(method: str, target: str, body: bytes | None, key: str) -> same.Answer:
        headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = client.open(target, method=method, data=body, headers=headers)
        return same.Answer(
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.headers.get("Location"),
            response.get_data(),
        )

    return send


def _peer_send(client: TestClient) -> same.Send:
    def send(method: str, target: str, body: bytes | None, key: str) -> same.Answer:
        headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = client.request(method, target, content=body, headers=headers)
        return same.Answer(
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.headers.get("Location"),
            response.content,
        )

    return send


@pytest.mark.parametrize("path", PATHS, ids=[path.key for path in PATHS])
def test_the_peer_answers_every_path_with_the_services_bytes(service_app, peer, seeded, path):
    apps = {"service": _service_send(service_app), "peer": _peer_send(peer)}
    found = same.compare(
        apps, [path], keys=seeded[1], slugs=list(seed.NARRATIVES), tag=f"t{path.key}"
    )
    assert found == {path.key: {"peer": None}}


def test_the_check_sees_a_difference(service_app, peer, seeded):
    """A peer whose bytes differ is caught: here a page one item short."""
    apps = {"service": _service_send(service_app), "peer": _peer_send(peer)}
    [get_sightings] = [p for p in PATHS if p.key == "get_sightings"]

    def short(method: str, target: str, body: bytes | None, key: str) -> same.Answer:
        return apps["peer"](method, target.replace("limit=50", "limit=49"), body, key)

    found = same.compare(
        {**apps, "peer": short}, [get_sightings], keys=seeded[1], slugs=["x"], tag="t"
    )
    assert "the body differs" in found["get_sightings"]["peer"]


def test_the_peer_checks_keys_as_the_service_does(peer, seeded):
    keys = seeded[1]
    body = {**_SIGHTING, "url": "https://example.org/keys"}
    assert peer.get("/v1/sightings").status_code == 401
    assert (
        peer.get("/v1/sightings", headers={"Authorization": "Bearer nt_wrong"}).status_code == 401
    )
    unknown = "Bearer nt_" + "a" * 43
    assert peer.get("/v1/sightings", headers={"Authorization": unknown}).status_code == 401
    refused = peer.post(
        "/v1/sightings", json=body, headers={"Authorization": f"Bearer {keys['reader']}"}
    )
    assert refused.status_code == 403


def test_generated_values_are_set_aside_but_not_their_places():
    def answer(document: dict[str, Any]) -> same.Answer:
        return same.Answer(200, "application/json", None, orjson.dumps(document))

    # Two clock readings that happen to be equal in one answer and not in the other.
    one = answer({"id": "a1", "created_at": "t1", "updated_at": "t1", "url": "/tag-1/"})
    other = answer({"id": "b1", "created_at": "t2", "updated_at": "t3", "url": "/tag-2/"})
    assert (
        same.difference(
            same.canonical(one, "tag-1", write=True), same.canonical(other, "tag-2", write=True)
        )
        is None
    )
    # A batch whose second result names the first one's id is not a batch of two new ones.
    two_new = answer({"results": [{"id": "a1"}, {"id": "a2"}]})
    one_twice = answer({"results": [{"id": "b1"}, {"id": "b1"}]})
    assert same.difference(
        same.canonical(two_new, "x", write=True), same.canonical(one_twice, "x", write=True)
    )


def test_a_batch_with_invalid_items_is_answered_as_the_service_does(service_app, peer, seeded):
    def batch(app: str) -> bytes:
        good = {**_SIGHTING, "url": f"https://example.org/{app}/1", "external_id": f"{app}-1"}
        return orjson.dumps(
            {
                "sightings": [
                    good,
                    {**good, "url": f"https://example.org/{app}/2", "language": "x"},
                    {**good, "url": f"https://example.org/{app}/3", "narrative": "no-such-one"},
                    {**good, "url": f"https://example.org/{app}/4", "source": {"name": "s"}},
                ]
            }
        )

    def outcome(send: same.Send, body: bytes) -> tuple[int, Any]:
        """Status, each item's status and the fields named in its errors, and the counts (the
        service's 422 is a problem document carrying the same results)."""
        answer = send("POST", "/v1/sightings", body, seeded[1]["monitor"])
        document = orjson.loads(answer.body)
        results = [
            (r["index"], r["status"], sorted(r.get("errors", {}))) for r in document["results"]
        ]
        return answer.status, results, document["created"], document["invalid"]

    service, peer_send = _service_send(service_app), _peer_send(peer)
    some_valid = outcome(peer_send, batch("peer"))
    assert some_valid == outcome(service, batch("service"))
    assert some_valid[0] == 207
    none_valid = orjson.dumps({"sightings": [{**_SIGHTING, "language": "x"}]})
    refused = outcome(peer_send, none_valid)
    assert refused == outcome(service, none_valid)
    assert refused[0] == 422


def test_the_peer_answers_every_match_text_with_the_services_bytes(service_app, peer, seeded):
    """All the match path's texts (three scripts, one to three paragraphs), not only the one
    the path check sends. (Whether each text's narrative comes first is the matcher's business,
    which a run reports; here the two apps must only agree.)"""
    apps = {"service": _service_send(service_app), "peer": _peer_send(peer)}
    found = same.every_text(apps, seeded[1]["reader"])
    assert found.peer == {}
    assert len(found.misses) < len(match_texts.cases()) / 2, found.misses


class _Recording:
    """A connection that records each statement it is sent (squashed), then sends it."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.sent = conn, []

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        text = query.as_string(self.conn) if isinstance(query, psycopg.sql.Composable) else query
        self.sent.append((" ".join(text.split()), params, options.get("prepare")))
        return self.conn.execute(query, params, **options)


_URL = "https://ria.example/2024/01/01/1"


@pytest.mark.parametrize(
    "kind",
    [
        "long",
        "short",
        "ukrainian",
        "url only",
        "text and url",
        "nothing found",
        "neutral",
        "population cached",
    ],
)
def test_the_match_flow_sends_the_services_statements(seeded, kind, monkeypatch):
    """bench/match_flow.py is find() statement for statement: the same SQL, parameters and
    preparation, in the same order, and the same answer; with the per-process population read
    afresh, or cached as for a large catalogue.
    Mutation: dropping the flow's `prepare=False`, sending the briefs after the texts, or
    counting the population on every match, fails here."""
    with db.connect(seeded[0]) as conn:
        url = conn.execute("SELECT url FROM sightings ORDER BY url LIMIT 1").fetchone()["url"]
    texts = {body: orjson.loads(body)["text"] for _, body in match_texts.cases()[:3]}
    long, _, ukrainian = texts.values()
    short = long.split("\n")[0][:150]
    given = {
        "long": {"text": long},
        "short": {"text": short},
        "ukrainian": {"text": ukrainian},
        "url only": {"text": "", "url": url},
        "text and url": {"text": short, "url": url},
        "nothing found": {"text": "Nothing at all to see here, is there."},
        "neutral": {"text": short, "language": "de"},
        "population cached": {"text": long},
    }[kind]
    arguments = {"url": None, "language": None, "limit": 5, **given}
    answers, sent = [], []
    for run, module in ((_service_find, match_api), (_flow_find, match_flow)):
        # Each process's caches, for this test only (the service's serve other tests).
        at = time.monotonic() if kind == "population cached" else float("-inf")
        population = Periodic(match_api.POPULATION_SECONDS, 5000, match_api.LARGE_POPULATION, at)
        monkeypatch.setattr(module, "POPULATION", population)
        with db.connect(seeded[0]) as conn:
            recording = _Recording(conn)
            answers.append(run(recording, arguments))
            sent.append(recording.sent)
    assert sent[1] == sent[0]
    assert answers[1] == answers[0]
    if kind != "nothing found":
        assert answers[0]["matches"], "the case should find something"


def _service_find(conn: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    return match_api.find(conn, **arguments)


def _flow_find(conn: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    return match_flow.run(conn, match_flow.find(**arguments))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"text": "x"}', 200),
        (b'{"text": ""}', 422),
        (b'{"text": "x", "limit": 21}', 422),
        (b'{"text": "x", "extra": 1}', 422),
        (b'{"text": "x", "text": "y"}', 400),
        (b'{"text": ', 400),
    ],
)
def test_the_peer_answers_a_match_with_the_services_status(service_app, peer, seeded, body, status):
    apps = {"service": _service_send(service_app), "peer": _peer_send(peer)}
    answers = {
        name: send("POST", "/v1/match", body, seeded[1]["reader"]) for name, send in apps.items()
    }
    assert answers["service"].status == answers["peer"].status == status


@pytest.fixture(scope="module")
def short_narrative(seeded) -> str:
    """A narrative whose sightings span two days of 2020 (older than the seed's, so no first
    page shows them): short enough for an hourly timeline of its default range."""
    fields = {
        "slug": "short-span",
        "title": "Short span",
        "summary": "S",
        "keywords": [],
        "tags": [],
        "status": "active",
        "parent_id": None,
    }
    with db.connect(seeded[0]) as conn, conn.transaction():
        narrative_id = narratives_repo.insert(conn, fields, by=None)
        for n, (hour, kind, language) in enumerate(
            [(1, "outlet", "ru"), (1, "channel", "ru"), (7, "outlet", "EN"), (30, "account", "uk")]
        ):
            item = {
                "narrative_id": narrative_id,
                "observed_at": datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=hour),
                "url": f"https://short.example/{n}",
                "source": {"name": "s", "kind": kind},
                "actor": None,
                "quote": None,
                "language": language,
                "country": None,
                "external_id": None,
                "confidence": None,
            }
            sightings_repo.insert(conn, item, by="test")
    return fields["slug"]


@pytest.mark.parametrize("interval", ["hour", "day", "week"])
def test_the_peer_answers_a_timeline_of_any_interval_with_the_services_bytes(
    service_app, peer, seeded, short_narrative, interval
):
    """The measured path asks for days; hours are counted by another statement (the rollup
    serves days and weeks), which the peer must pick as the service does.
    Mutation: the peer sends the days' statement for hours: each day's sightings land in its
    first hour."""
    apps = {"service": _service_send(service_app), "peer": _peer_send(peer)}
    target = f"/v1/narratives/{short_narrative}/timeline?interval={interval}"
    answers = {name: send("GET", target, None, seeded[1]["reader"]) for name, send in apps.items()}
    assert answers["service"].status == 200
    assert orjson.loads(answers["service"].body)["totals"]["sightings"] == 4
    assert answers["peer"] == answers["service"]
