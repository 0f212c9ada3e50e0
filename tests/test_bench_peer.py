"""The benchmark's peer (bench/peer_app.py, FastAPI + pydantic) must do the service's work, or
the service/peer ratios compare nothing: refuse the sightings the service refuses and store what
it stores, check the same keys, and answer every measured path (bench/paths.py) with the
service's bytes. Both apps run in process on one committed database, no server started."""

import time
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import orjson
import psycopg.sql
import pydantic
import pytest
from fastapi.testclient import TestClient
from flask import Flask

from bench import database as bench_database
from bench import hostile, match_flow, match_texts, peer_app, peer_models, same, seed
from bench.paths import PATHS
from service import create_app, db
from service.api import match as match_api
from service.matching.periodic import Periodic
from service.schemas.match import MatchIn
from service.schemas.sightings import SightingIn
from tests.test_url_limits import AT_THE_LIMIT, TOO_MUCH

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


def _loaded(schema: Any, body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return schema(body)
    except (ma.ValidationError, pydantic.ValidationError):
        return None


_EDGES: list[dict[str, Any]] = [
    {},
    {"confidence": 1},
    {"confidence": 0.25},
    {"confidence": True},
    {"confidence": "0.5"},
    {"confidence": 1.5},
    {"confidence": -0.1},
    {"narrative": {"id": "0b3a6c1e-1111-4c4c-9a9a-0123456789ab", "slug": "x"}},
    {"narrative": {"slug": "by-slug"}},
    {"narrative": {"slug": 5}},
    {"narrative": {}},
    {"narrative": None},
    {"narrative": "n" * 101},
    {"narrative": 7},
    {"observed_at": "2024-03-26T12:00:00.123456789+02:00"},
    {"observed_at": "2024-03-26t12:00:00Z"},
    {"observed_at": "2024-03-26T12:00:00"},
    {"observed_at": "2024-02-30T12:00:00Z"},
    {"observed_at": "1899-12-31T23:00:00-02:00"},
    {"observed_at": "2201-01-01T00:00:00Z"},
    {"observed_at": 1711454400},
    {"url": "https://a.example/x?utm_source=telegram&b=2&a=1#frag"},
    {"url": "  https://a.example/padded  "},
    {"url": "ftp://a.example/x"},
    {"url": "https://user:pw@a.example/"},
    {"url": "https://a.example/\x01"},
    {"url": ""},
    {"url": None},
    {"url": "https://a.example/" + "x" * 2100},
    {"reported_in": {"name": "DW"}},
    {"reported_in": {"name": "DW", "url": "https://dw.example/a"}},
    {"reported_in": {"url": "https://dw.example/a"}},
    {"reported_in": {"name": "DW", "extra": 1}},
    {"source": {"name": "a", "kind": "blog"}},
    {"source": {"name": "", "kind": "outlet"}},
    {"source": {"name": "a", "kind": "outlet", "x": 1}},
    {"source": "SHOT"},
    {"actor": {"name": "Maria Zakharova"}},
    {"actor": {"name": "M", "role": None}},
    {"actor": {"role": "Spokesperson"}},
    {"actor": None},
    {"quote": ""},
    {"quote": "q" * 10000},
    {"quote": "q" * 10001},
    {"quote": "nul \x00 inside"},
    {"quote": "lone \ud800 surrogate"},
    {"language": "e"},
    {"language": "en-"},
    {"language": "zh-Hant-TW"},
    {"language": "en\n"},
    {"country": "ru"},
    {"country": "ß"},
    {"country": "RUS"},
    {"external_id": ""},
    {"external_id": 1},
    {"external_id": "e" * 200},
    {"external_id": "e" * 201},
    {"unknown_field": 1},
    *({"url": url} for url in (*TOO_MUCH.values(), *AT_THE_LIMIT.values())),
    *({"url": hostile.url(f"h-{n}", n)} for n in range(4)),
]


@pytest.mark.parametrize("change", _EDGES)
def test_the_peer_validates_a_sighting_as_the_service_does(change):
    body = {**_SIGHTING, **change}
    by_service = _loaded(SightingIn().load, body)
    by_peer = _loaded(lambda b: peer_models.SightingIn.model_validate(b).model_dump(), body)
    assert by_peer == by_service


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


def _matched(schema: Any, body: dict[str, Any]) -> tuple[Any, ...] | None:
    """The arguments find() is called with, or None when the body is refused."""
    try:
        data = schema(body)
    except (ma.ValidationError, pydantic.ValidationError):
        return None
    return data.get("text") or "", data.get("url"), data.get("language"), data["limit"]


_MATCH_EDGES: list[dict[str, Any]] = [
    {},
    {"text": ""},
    {"text": " \n\t"},
    {"text": None},
    {"text": 42},
    {"text": "x" * (100 * 1024)},
    {"text": "x" * (100 * 1024 + 1)},
    {"text": "ж" * (50 * 1024)},
    {"text": "ж" * (50 * 1024 + 1)},  # under 100 K characters, over 100 KB
    {"text": "a\x00b"},
    {"text": "lone \ud800 surrogate"},
    {"text": "", "url": "https://a.example/x?utm_source=t"},
    {"url": "  https://a.example/padded  "},
    {"url": ""},
    {"url": None},
    {"text": "x", "url": None},
    {"url": "ftp://a.example/x"},
    {"url": "http://[::1"},
    {"text": "x", "language": "ru-RU"},
    {"text": "x", "language": "xx-not a tag!"},
    {"text": "x", "language": ""},
    {"text": "x", "language": "\x00"},
    {"text": "x", "language": "r" * 100},
    {"text": "x", "language": "r" * 101},
    {"text": "x", "language": 7},
    {"text": "x", "language": None},
    {"text": "x", "limit": 0},
    {"text": "x", "limit": 1},
    {"text": "x", "limit": 20},
    {"text": "x", "limit": 21},
    {"text": "x", "limit": "5"},
    {"text": "x", "limit": True},
    {"text": "x", "limit": 2.5},
    {"text": "x", "limit": 5.0},
    {"text": "x", "limit": None},
    {"text": "x", "lang": "ru"},
    {"text": "x", "unknown_field": 1},
]


@pytest.mark.parametrize("body", _MATCH_EDGES)
def test_the_peer_validates_a_match_as_the_service_does(body):
    by_service = _matched(MatchIn().load, body)
    by_peer = _matched(lambda b: peer_models.MatchIn.model_validate(b).model_dump(), body)
    assert by_peer == by_service


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
