"""API keys and roles: the whole matrix of operations x callers, the key lifecycle, and
provenance on every write."""

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from service.domain.roles import RANK, ROLES
from service.web.auth import PUBLIC_BLUEPRINTS
from tests.factories import create_narrative, create_rebuttal, create_sighting


def operations(app):
    """(method, path, required role) for every operation the app serves behind a key."""
    found = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in PUBLIC_BLUEPRINTS or rule.endpoint == "static":
            continue
        view_class = app.view_functions[rule.endpoint].view_class
        path = re.sub(r"<uuid:[^>]+>", str(uuid.uuid4()), rule.rule)
        path = re.sub(r"<[^>]+>", "no-such-ref", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            view = getattr(view_class, method.lower())
            found.append((method, path, getattr(view, "required_role", None)))
    return found


def test_every_operation_states_a_role(app):
    ops = operations(app)

    assert len(ops) >= 20
    assert [op for op in ops if op[2] not in ROLES] == []


def test_the_matrix(app, client_for, anon_client, api_keys, conn):
    revoked = client_for("admin").post("/v1/keys", json={"name": "soon-revoked", "role": "admin"})
    revoked_key = revoked.get_json()
    client_for("admin").delete(f"/v1/keys/{revoked_key['id']}")
    callers = {
        "no key": anon_client,
        "bad key": client_for(key="nt_not-a-real-key"),
        "revoked key": client_for(key=revoked_key["key"]),
        **{role: client_for(role) for role in ROLES},
    }
    failures = []
    for method, path, required in operations(app):
        for caller, client in callers.items():
            body = {} if method in ("POST", "PATCH") else None
            response = client.open(path, method=method, json=body)
            if caller in ("no key", "bad key", "revoked key"):
                expected = {401}
            elif RANK[caller] < RANK[required]:
                expected = {403}
            else:
                expected = set(range(200, 600)) - {401, 403, 500}
            if response.status_code not in expected:
                failures.append((method, path, caller, response.status_code))
            if response.status_code == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            if response.status_code >= 400:
                assert response.content_type == "application/problem+json"
    assert failures == []


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "nt_abc", "Token nt_abc"],
)
def test_malformed_authorization_headers_are_401(anon_client, header):
    response = anon_client.get("/v1/narratives", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="narrative-tracker"')


def test_public_endpoints_need_no_key(anon_client):
    for path in ("/healthz", "/readyz", "/openapi.yaml", "/openapi.json", "/docs"):
        assert anon_client.get(path).status_code == 200, path


def test_403_names_the_role_needed(client_for):
    response = client_for("reader").post("/v1/narratives", json={"title": "x"})

    assert response.status_code == 403
    assert "'editor'" in response.get_json()["detail"]


def test_me_says_who_is_calling(client_for):
    assert client_for("monitor").get("/v1/me").get_json() == {
        "name": "test-monitor",
        "role": "monitor",
    }


def test_key_lifecycle_create_use_list_revoke(client, anon_client):
    created = client.post("/v1/keys", json={"name": "tg-monitor", "role": "monitor"})

    assert created.status_code == 201
    key = created.get_json()
    assert key["key"].startswith("nt_") and len(key["key"]) >= 40
    assert key["prefix"] == key["key"][:10]
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert anon_client.get("/v1/me", headers=headers).get_json()["name"] == "tg-monitor"

    listed = client.get("/v1/keys").get_json()["items"]
    mine = next(k for k in listed if k["name"] == "tg-monitor")
    assert "key" not in mine and mine["last_used_at"] is not None

    revoked = client.delete(f"/v1/keys/{key['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert anon_client.get("/v1/me", headers=headers).status_code == 401


def test_only_the_hash_is_stored(client, conn):
    key = client.post("/v1/keys", json={"name": "hashed", "role": "reader"}).get_json()["key"]

    row = conn.execute("SELECT * FROM api_keys WHERE name = 'hashed'").fetchone()

    assert key not in str(row)
    assert len(row["key_hash"]) == 64


def test_key_names_are_never_reused(client):
    first = client.post("/v1/keys", json={"name": "once", "role": "reader"}).get_json()
    client.delete(f"/v1/keys/{first['id']}")

    again = client.post("/v1/keys", json={"name": "once", "role": "reader"})

    assert again.status_code == 409
    assert "name" in again.get_json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "x y", "role": "reader"}, "name"), ({"name": "x", "role": "root"}, "role")],
)
def test_bad_key_requests_are_422(client, body, field):
    response = client.post("/v1/keys", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_writes_record_the_key_that_made_them(client_for):
    editor, monitor = client_for("editor"), client_for("monitor")
    narrative = create_narrative(editor)
    sighting = create_sighting(monitor, narrative["slug"])
    rebuttal = create_rebuttal(editor, [narrative["slug"]])

    reviewed = editor.patch(f"/v1/sightings/{sighting['id']}", json={"status": "confirmed"})

    assert narrative["reported_by"] == "test-editor"
    assert sighting["reported_by"] == "test-monitor" and sighting["updated_by"] is None
    assert reviewed.get_json()["updated_by"] == "test-editor"
    assert rebuttal["reported_by"] == "test-editor"


def test_audit_trail_records_who_changed_what(client_for):
    editor = client_for("editor")
    narrative = create_narrative(editor, summary="before")
    editor.patch(f"/v1/narratives/{narrative['id']}", json={"summary": "after"})
    rebuttal = create_rebuttal(editor, [narrative["slug"]])
    client_for("admin").delete(f"/v1/rebuttals/{rebuttal['id']}")

    trail = editor.get(f"/v1/audit?record={narrative['id']}&resource=narrative").get_json()["items"]
    deleted = editor.get(f"/v1/audit?record={rebuttal['id']}&action=delete").get_json()["items"]

    assert [(e["action"], e["key"]) for e in trail] == [
        ("update", "test-editor"),
        ("create", "test-editor"),
    ]
    assert trail[0]["before"]["summary"] == "before" and trail[0]["after"]["summary"] == "after"
    assert deleted[0]["key"] == "test-admin" and deleted[0]["after"] is None
    assert "key_hash" not in str(editor.get("/v1/audit?resource=key").get_json())


def test_audit_trail_records_list_changes_and_skips_empty_patches(client_for):
    editor = client_for("editor")
    narrative = create_narrative(editor, aliases=[{"text": "old", "language": "en"}])
    editor.patch(f"/v1/narratives/{narrative['id']}", json={})
    editor.patch(
        f"/v1/narratives/{narrative['id']}", json={"aliases": [{"text": "new", "language": "en"}]}
    )

    trail = editor.get(f"/v1/audit?record={narrative['id']}").get_json()["items"]

    assert [(e["resource"], e["action"]) for e in trail] == [
        ("narrative_aliases", "create"),
        ("narrative_aliases", "delete"),
        ("narrative_aliases", "create"),
        ("narrative", "create"),
    ]
    assert trail[0]["after"] == [{"text": "new", "language": "en", "position": 1}]
    assert trail[1]["before"][0]["text"] == "old"
    assert {e["key"] for e in trail} == {"test-editor"}


def test_audit_needs_an_editor(client_for):
    assert client_for("monitor").get("/v1/audit").status_code == 403


def test_cli_creates_lists_and_revokes_keys(database_url):
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    name = f"cli-{uuid.uuid4().hex[:8]}"

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "service", "keys", *args],
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = run("create", "--name", name, "--role", "monitor")
    listed = run("list")
    revoked = run("revoke", name)
    duplicate = run("create", "--name", name, "--role", "monitor")

    assert created.returncode == 0, created.stderr
    assert re.search(r"^nt_[A-Za-z0-9_-]{43}$", created.stdout, flags=re.M)
    assert name in listed.stdout and "monitor" in listed.stdout
    assert revoked.returncode == 0
    assert duplicate.returncode != 0 and "exists" in duplicate.stderr
