"""Test fixtures: a real PostgreSQL, migrated once per session, and a transaction per test.

The server is TEST_DATABASE_URL's if set, else an embedded PostgreSQL 18 in a temporary folder.
Each session works in a database of its own (created here, dropped at the end), so a developer's
data and a parallel run are never touched. Each test gets one connection inside an open
transaction, handed to the app in place of the pool and rolled back afterwards.
"""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from service import create_app, db
from service.db import EXTENSION
from service.domain.roles import ROLES
from service.ops import embedded, migrate
from service.web import auth
from tests.factories import create_narrative, create_rebuttal, create_sighting


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An admin URL on the test server."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    folder = Path(tempfile.mkdtemp(prefix="narratives-test-pg-"))
    yield embedded.start(folder / "data", keep=False)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A database of this session's own, with every migration applied."""
    name = f"narratives_test_{uuid.uuid4().hex[:12]}"
    url = embedded.ensure_database(server_url, name)
    migrate.migrate(url)
    yield url
    embedded.drop_database(server_url, name)


@pytest.fixture(scope="session")
def migrated_database(server_url: str):
    """migrated_database(label) -> a context manager yielding the URL of a new database with
    every migration applied, dropped on exit. For tests whose data must be committed (real
    gunicorn processes, workers), so the per-test rollback cannot isolate them."""

    @contextmanager
    def make(label: str) -> Iterator[str]:
        name = f"narratives_{label}_{uuid.uuid4().hex[:12]}"
        url = embedded.ensure_database(server_url, name)
        try:
            migrate.migrate(url)
            yield url
        finally:
            embedded.drop_database(server_url, name)

    return make


@pytest.fixture
def fresh_database_url(server_url: str) -> Iterator[str]:
    """A new, empty database (no migrations), dropped after the test."""
    name = f"narratives_fresh_{uuid.uuid4().hex[:12]}"
    yield embedded.ensure_database(server_url, name)
    embedded.drop_database(server_url, name)


@pytest.fixture(scope="session")
def api_keys(database_url: str) -> dict[str, str]:
    """A committed key per role, named test-<role>: {role: secret}."""
    with db.connect(database_url) as connection, connection.transaction():
        return {
            role: auth.issue(connection, name=f"test-{role}", role=role, by="conftest")["key"]
            for role in ROLES
        }


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    # No key cache: each request reads the key, so revocations in a test act at once.
    return create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "DB_POOL_MIN_SIZE": 0,
            "AUTH_CACHE_SECONDS": 0,
            "RATE_LIMIT_PER_MINUTE": 0,
            "ACCESS_LOG": False,
        }
    )


@pytest.fixture
def conn(app: Flask, database_url: str) -> Iterator[psycopg.Connection]:
    """The test's connection, inside a transaction that is rolled back at the end."""
    connection = psycopg.connect(database_url, row_factory=dict_row, options="-c timezone=UTC")
    connection.execute("SELECT 1")  # opens the transaction; the app's blocks become savepoints
    app.extensions[EXTENSION].override = connection
    try:
        yield connection
    finally:
        app.extensions[EXTENSION].override = None
        connection.rollback()
        connection.close()


@pytest.fixture
def anon_client(app: Flask, conn: psycopg.Connection) -> FlaskClient:
    """A client that sends no API key."""
    return app.test_client()


@pytest.fixture
def client_for(app: Flask, conn: psycopg.Connection, api_keys: dict[str, str]):
    """client_for(role) -> a client sending that role's key (or any secret given as `key`)."""

    def make(role: str | None = None, *, key: str | None = None) -> FlaskClient:
        client = app.test_client()
        secret = key if key is not None else api_keys[role]
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        return client

    return make


@pytest.fixture
def client(client_for) -> FlaskClient:
    """A client with the admin key: most tests are about behaviour, not permissions."""
    return client_for("admin")


@pytest.fixture
def world(client) -> dict[str, Any]:
    narrative = create_narrative(client)
    return {
        "narrative": narrative,
        "sighting": create_sighting(client, narrative["slug"]),
        "rebuttal": create_rebuttal(client, [narrative["slug"]]),
    }


@pytest.fixture(autouse=True)
def fresh_match_caches(monkeypatch):
    """The matcher keeps figures per process for a minute (service.api.match, and its copy in
    bench.match_flow); tests switch databases within a minute, so each starts with none."""
    from bench import match_flow
    from service.api import match
    from service.matching.periodic import Periodic

    for module in (match, match_flow):
        monkeypatch.setattr(
            module,
            "POPULATION",
            Periodic(match.POPULATION_SECONDS, 0, always_below=match.LARGE_POPULATION),
        )
