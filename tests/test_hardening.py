"""Faults a hostile but careful client found (issue 7): each test here failed before its fix."""

import json
import logging
import random
import string

import psycopg
import pytest

from service import db
from service.api import spec
from service.logs import JsonFormatter
from service.web.metrics import exposition
from tests.factories import create_narrative, narrative_body, sighting_body

# ---- the body: I-JSON, and chunked in any letter case ----


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": "A", "title": "B"}',
        b'{"title": "A", "aliases": [{"text": "x", "language": "ru", "language": "uk"}]}',
        b'{"slug": "a", "title": "T", "summary": "s", "summary": "t"}',
    ],
)
def test_a_repeated_member_is_malformed_json(client, conn, raw):
    before = conn.execute("SELECT count(*) AS n FROM narratives").fetchone()["n"]

    response = client.post("/v1/narratives", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith(":malformed-json")
    assert "appears twice" in problem["detail"]
    assert conn.execute("SELECT count(*) AS n FROM narratives").fetchone()["n"] == before


def test_a_repeated_member_in_a_sighting_batch_is_malformed_json(client):
    narrative = create_narrative(client)
    item = json.dumps(sighting_body(narrative["slug"]))
    raw = ('{"sightings": [' + item[:-1] + ', "quote": "again"}]}').encode()

    response = client.post("/v1/sightings", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert "'quote' appears twice" in response.get_json()["detail"]


def test_the_same_names_in_different_objects_are_fine(client):
    response = client.post(
        "/v1/narratives",
        json=narrative_body(
            aliases=[{"text": "a", "language": "ru"}, {"text": "b", "language": "uk"}]
        ),
    )
    assert response.status_code == 201


@pytest.mark.parametrize("coding", ["Chunked", "CHUNKED", "gzip, chunked"])
def test_a_chunked_body_that_is_not_json_is_refused_in_any_case(client, coding):
    response = client.post(
        "/v1/narratives",
        data=b"title=x",
        headers={"Transfer-Encoding": coding, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415


# ---- caches and the docs page ----


def test_keyed_reads_are_private_and_revalidated(client):
    response = client.get("/v1/narratives")
    assert response.headers["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/me"])
def test_key_records_are_never_stored(client, path):
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_errors_and_writes_are_never_stored(client, anon_client):
    assert anon_client.get("/v1/narratives").headers["Cache-Control"] == "no-store"
    assert client.get("/v1/narratives/nope").headers["Cache-Control"] == "no-store"
    created = client.post("/v1/narratives", json=narrative_body())
    assert created.headers["Cache-Control"] == "no-store"


def test_json_answers_may_load_nothing_and_not_be_framed(client):
    policy = client.get("/v1/narratives").headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_the_docs_page_runs_no_inline_script_under_a_strict_policy(anon_client):
    page = anon_client.get("/docs")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'none'" in policy
    html = page.get_data(as_text=True)
    assert "<script>" not in html, "inline scripts would need 'unsafe-inline'"


def test_every_route_served_is_in_the_contract(app):
    documented = _spec_paths(app)
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<uuid:", "{").replace("<path:", "{").replace("<", "{")
        path = path.replace(">", "}")
        assert path in documented, f"{rule.rule} is served but not in openapi.yaml"


def _spec_paths(app) -> set[str]:
    return set(json.loads(app.extensions[spec.EXTENSION][1])["paths"])


def test_no_static_folder_is_served(anon_client):
    assert anon_client.get("/static/app.js").status_code == 404


# ---- logs ----


@pytest.mark.parametrize("breaker", ["\u2028", "\u2029", "\x85", "\x1c", "\x0b", "\x9b"])
def test_one_log_entry_is_one_line_whatever_the_path_holds(breaker):
    record = logging.LogRecord("narratives.access", logging.INFO, "", 0, "GET %s", None, None)
    record.args = (f"/v1/a{breaker}injected",)
    record.path = f"/v1/a{breaker}injected"

    line = JsonFormatter().format(record)

    assert len(line.splitlines()) == 1
    assert json.loads(line)["path"] == f"/v1/a{breaker}injected"


# ---- metrics ----


def _series(text: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")}


def test_invented_methods_and_paths_mint_no_new_series(app, anon_client, conn):
    for method in ("GET", "FOO"):  # one of each kind first: the series those mint are fixed
        anon_client.open("/nowhere", method=method)
        anon_client.open("/v1/narratives/somewhere", method=method)
    with app.app_context():
        before = _series(exposition().get_data(as_text=True))

    rng = random.Random(7)
    for _ in range(300):
        method = "".join(rng.choices(string.ascii_uppercase, k=8))
        path = "/" + "".join(rng.choices(string.ascii_lowercase, k=12))
        anon_client.open(path, method=method)
        anon_client.open(f"/v1/narratives/{path[1:]}", method=method)
    with app.app_context():
        after = _series(exposition().get_data(as_text=True))

    assert after - before == set(), sorted(after - before)[:5]
    assert any('method="other"' in series for series in after)


# ---- the planner ----


def test_pooled_connections_never_jit_compile(app, database_url):
    database = app.extensions[db.EXTENSION]
    with database.pool.connection() as conn:
        assert conn.execute("SHOW jit").fetchone()["jit"] == "off"
        available = conn.execute("SELECT pg_jit_available() AS on").fetchone()["on"]
        # Make every plan costly enough to compile, if JIT were allowed.
        conn.execute("SET jit_above_cost = 0")
        plan = conn.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM narratives"
        ).fetchone()
        conn.execute("RESET jit_above_cost")
    assert "JIT" not in plan["QUERY PLAN"][0]
    if available:  # the control: the same plan on a connection with JIT on does compile
        with psycopg.connect(database_url, options="-c jit=on -c jit_above_cost=0") as other:
            control = other.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM narratives"
            ).fetchone()[0]
        assert "JIT" in control[0]


# ---- identities and exposure ----


def test_a_corrected_sighting_is_known_by_what_it_now_says(client, conn):
    narrative = create_narrative(client)["slug"]
    said = sighting_body(narrative, url=None, quote="Quote A")
    first = client.post("/v1/sightings", json=said).get_json()

    assert (
        client.patch(f"/v1/sightings/{first['id']}", json={"quote": "Quote B"}).status_code == 200
    )

    again_b = client.post("/v1/sightings", json={**said, "quote": "Quote B"})
    assert again_b.status_code == 200 and again_b.get_json()["id"] == first["id"]
    again_a = client.post("/v1/sightings", json=said)
    assert again_a.status_code == 201, "quote A is free again: a monitor's new sighting"
    assert again_a.get_json()["id"] != first["id"]


def test_a_correction_onto_an_existing_sighting_is_a_conflict(client):
    narrative = create_narrative(client)["slug"]
    said = sighting_body(narrative, url=None, quote="Quote A")
    client.post("/v1/sightings", json=said)
    other = client.post("/v1/sightings", json={**said, "quote": "Quote C"}).get_json()

    response = client.patch(f"/v1/sightings/{other['id']}", json={"quote": "Quote A"})

    assert response.status_code == 409


@pytest.mark.parametrize(
    "slug",
    [
        "0123456789abcdef0123456789abcdef",
        "01234567-89ab-cdef-0123-456789abcdef",
        "deadbeef-deadbeef-deadbeef-deadbeef",
    ],
)
def test_a_slug_shaped_like_an_id_is_refused(client, slug):
    created = client.post("/v1/narratives", json=narrative_body(slug=slug))
    assert created.status_code == 422
    assert "slug" in created.get_json()["errors"]

    narrative = create_narrative(client)
    patched = client.patch(f"/v1/narratives/{narrative['slug']}", json={"slug": slug})
    assert patched.status_code == 422


def test_a_title_that_makes_an_id_shaped_slug_needs_a_slug(client):
    body = narrative_body(title="0123456789abcdef0123456789abcdef")
    del body["slug"]
    response = client.post("/v1/narratives", json=body)
    assert response.status_code == 422 and "slug" in response.get_json()["errors"]


def test_key_records_in_the_audit_trail_are_for_admins(client_for):
    client_for("admin").post("/v1/keys", json={"name": "audited-key", "role": "reader"})
    editor, admin = client_for("editor"), client_for("admin")

    assert editor.get("/v1/audit?resource=key").status_code == 403
    seen_by_editor = editor.get("/v1/audit?limit=200").get_json()["items"]
    assert all(entry["resource"] != "key" for entry in seen_by_editor)
    seen_by_admin = admin.get("/v1/audit?resource=key").get_json()["items"]
    assert any(entry["after"]["name"] == "audited-key" for entry in seen_by_admin)


def test_a_method_no_route_takes_is_a_405_whatever_the_body(client):
    response = client.put("/v1/sightings/import", data=b"{}\n", content_type="text/plain")
    assert response.status_code == 405 and "Allow" in response.headers
