"""Operations: metrics, structured logs, rate limits, and behaviour when the database is gone."""

import json
import logging
import re
import uuid

import pytest

from service import create_app, db
from service.logs import JsonFormatter
from service.web import auth
from tests.factories import narrative_body, sighting_body
from tests.live import gunicorn


@pytest.fixture
def make_app(database_url, conn):
    """A separately configured app sharing the test's connection (and so its rollback)."""
    made = []

    def make(**settings):
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "DB_POOL_MIN_SIZE": 0,
                "AUTH_CACHE_SECONDS": 0,
                "RATE_LIMIT_PER_MINUTE": 0,
                "ACCESS_LOG": False,
                **settings,
            }
        )
        app.extensions[db.EXTENSION].override = conn
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions[db.EXTENSION].override = None
        app.extensions[db.EXTENSION].close()


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_public_and_count_requests_by_route_and_status(client, anon_client):
    client.get("/v1/narratives/nope")

    response = anon_client.get("/metrics")

    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert (
        metric(text, "narratives_http_requests_total", route="/v1/narratives/<ref>", status="404")
        >= 1
    )
    assert "narratives_http_request_duration_seconds_bucket" in text
    assert "narratives_db_pool_connections" in text


def test_metrics_can_require_their_own_token(make_app):
    client = make_app(METRICS_TOKEN="scrape-secret").test_client()

    refused = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})

    assert refused.status_code == wrong.status_code == 401
    assert refused.content_type == "application/problem+json"
    assert allowed.status_code == 200


def test_ingest_outcomes_are_counted(client, anon_client):
    client.post("/v1/narratives", json=narrative_body(slug="counted"))
    before = metric(
        anon_client.get("/metrics").get_data(as_text=True),
        "narratives_sightings_ingested_total",
        result="created",
    )
    items = [sighting_body("counted"), sighting_body("counted"), {"bad": True}]

    client.post("/v1/sightings", json={"sightings": items})

    after = anon_client.get("/metrics").get_data(as_text=True)
    assert metric(after, "narratives_sightings_ingested_total", result="created") == before + 2


def test_metrics_sum_over_every_gunicorn_worker(migrated_database):
    with migrated_database("metrics") as url, gunicorn(url, workers=3) as live:
        for _ in range(60):
            live.request("GET", "/healthz")
        scrapes = [live.request("GET", "/metrics")[2] for _ in range(6)]

    counts = {metric(s, "narratives_http_requests_total", route="/healthz") for s in scrapes}
    assert counts == {60.0}, "every scrape, whichever worker answers, sees all 60"


def test_request_id_is_echoed_and_generated(client):
    given = client.get("/v1/narratives", headers={"X-Request-ID": "trace-42"})
    generated = client.get("/v1/narratives")

    assert given.headers["X-Request-ID"] == "trace-42"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])


def test_one_json_access_line_per_request(make_app, api_keys, caplog):
    app = make_app(ACCESS_LOG=True)
    caplog.set_level(logging.INFO, logger="narratives.access")

    app.test_client().get(
        "/v1/narratives",
        headers={"Authorization": f"Bearer {api_keys['reader']}", "X-Request-ID": "abc-1"},
    )

    lines = [r for r in caplog.records if r.name == "narratives.access"]
    assert len(lines) == 1
    entry = json.loads(JsonFormatter().format(lines[0]))
    assert entry["status"] == 200 and entry["path"] == "/v1/narratives"
    assert entry["key"] == "test-reader" and entry["method"] == "GET"
    assert entry["duration_ms"] >= 0 and entry["level"] == "info"


def fresh_key(conn, role: str = "reader") -> str:
    """A key no other test has spent any rate-limit budget on (rolled back with the test)."""
    return auth.issue(conn, name=f"rl-{uuid.uuid4().hex[:8]}", role=role, by="tests")["key"]


def test_rate_limit_answers_429_with_retry_after(make_app, conn):
    client = make_app(RATE_LIMIT_PER_MINUTE=3).test_client()
    headers = {"Authorization": f"Bearer {fresh_key(conn)}"}

    answers = [client.get("/v1/narratives", headers=headers) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["type"].endswith("rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_rate_limits_are_per_key(make_app, conn):
    client = make_app(RATE_LIMIT_PER_MINUTE=1).test_client()

    first = client.get("/v1/me", headers={"Authorization": f"Bearer {fresh_key(conn)}"})
    other = client.get("/v1/me", headers={"Authorization": f"Bearer {fresh_key(conn)}"})

    assert first.status_code == other.status_code == 200


def test_health_needs_no_rate_limit_budget(make_app):
    client = make_app(RATE_LIMIT_PER_MINUTE=1).test_client()

    assert [client.get("/healthz").status_code for _ in range(3)] == [200] * 3


def test_without_a_database_requests_get_503_and_liveness_stays_up(api_keys):
    app = create_app(
        {
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",  # nothing listens there
            "DB_POOL_TIMEOUT": 0.5,
            "AUTH_CACHE_SECONDS": 0,
        }
    )
    client = app.test_client()
    try:
        keyed = client.get(
            "/v1/narratives", headers={"Authorization": f"Bearer {api_keys['reader']}"}
        )
        ready = client.get("/readyz")
        live = client.get("/healthz")
    finally:
        app.extensions[db.EXTENSION].close()

    assert keyed.status_code == 503
    assert keyed.content_type == "application/problem+json"
    assert keyed.headers["Retry-After"].isdigit()
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"] == "unavailable"
    assert live.status_code == 200
