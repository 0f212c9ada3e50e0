"""Fixtures for the reliability suite: one embedded PostgreSQL for the session that the tests may
stop, start and restart; a migrated database of its own per test module; gunicorns started and
stopped per test; and the figures table printed at the end.

The suite always runs its own embedded server (it must be able to restart it), whatever
TEST_DATABASE_URL says. A watchdog bounds the whole session: past RELIABILITY_TIMEOUT seconds
(default 480) it dumps every thread's stack, stops what the suite started and exits.
"""

from __future__ import annotations

import faulthandler
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path

import psycopg
import pytest

from reliability.figures import FIGURES
from reliability.harness import CHILDREN, STARTED, Gunicorn, Postgres, issue_key, serving
from reliability.hostile import TABLES, _narrative, _rebuttal, _sighting
from service.ops import migrate

_postgres: list[Postgres] = []


def _emergency_stop(config: pytest.Config) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # write to the terminal, not into a capture buffer that dies with us
        capture.suspend_global_capture(in_=False)
    sys.stderr.write("\nreliability: session timeout; stacks follow, then everything stops\n")
    faulthandler.dump_traceback(all_threads=True)
    for child in list(CHILDREN):
        with suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
    for server in list(STARTED):
        try:
            server.stop()
        except Exception as error:
            sys.stderr.write(f"reliability: could not stop gunicorn: {error}\n")
    for cluster in list(_postgres):
        try:
            cluster.shutdown()
        except Exception as error:
            sys.stderr.write(f"reliability: could not stop PostgreSQL: {error}\n")
        shutil.rmtree(cluster.folder, ignore_errors=True)
    sys.stderr.flush()
    os._exit(3)


def pytest_sessionstart(session: pytest.Session) -> None:
    limit = float(os.environ.get("RELIABILITY_TIMEOUT", "480"))
    watchdog = threading.Timer(limit, _emergency_stop, args=(session.config,))
    watchdog.daemon = True
    watchdog.start()
    session.config._reliability_watchdog = watchdog  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    watchdog = getattr(session.config, "_reliability_watchdog", None)
    if watchdog is not None:
        watchdog.cancel()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    terminalreporter.section("reliability figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="narratives-reliability-"))
    cluster = Postgres(folder)
    _postgres.append(cluster)
    try:
        yield cluster
    finally:
        cluster.shutdown()
        _postgres.remove(cluster)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _postgres_left_running() -> Iterator[None]:
    """Whatever a test did to PostgreSQL, the next one finds it running."""
    yield
    for cluster in _postgres:
        if not cluster.running():
            cluster.start()


@pytest.fixture(scope="module")
def database_url(postgres: Postgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of this module's own, dropped afterwards."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"reliability_{module}_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(name)
    migrate.migrate(url)
    yield url
    if not postgres.running():  # a failed test may have left it stopped
        postgres.start()
    postgres.drop_database(name)


@pytest.fixture
def start_gunicorn(database_url: str) -> Iterator:
    """start_gunicorn(workers=2, key=None, **env) -> a running Gunicorn, stopped after the test."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(serving(database_url, **options))


# The hostile-input tests (test_hostile_*.py): one gunicorn per module and records to aim at; the
# modules ask for `tables_survive` with `pytestmark = pytest.mark.usefixtures("tables_survive")`.


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[Gunicorn]:
    key, _ = issue_key(database_url, "hostile-admin", "admin")
    with serving(database_url, workers=2, key=key) as server:
        yield server


@pytest.fixture(scope="module")
def records(live: Gunicorn) -> dict[str, str]:
    """A narrative, a sighting and a rebuttal to aim at."""
    narrative = live.request("POST", "/v1/narratives", _narrative(slug="hostile-target"))
    assert narrative.status == 201, narrative.describe()
    sighting = live.request("POST", "/v1/sightings", _sighting("hostile-target"))
    assert sighting.status == 201, sighting.describe()
    rebuttal = live.request("POST", "/v1/rebuttals", _rebuttal("hostile-target"))
    assert rebuttal.status == 201, rebuttal.describe()
    return {
        "narrative": "hostile-target",
        "sighting": sighting.json()["id"],
        "rebuttal": rebuttal.json()["id"],
    }


@pytest.fixture(scope="module")
def tables_survive(database_url: str, live: Gunicorn) -> Iterator[None]:
    yield
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        for table in TABLES:
            (found,) = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            assert found, f"table {table} is gone"
    assert live.request("GET", "/readyz").status == 200


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        for server in STARTED:
            # The app's own lines (warnings, errors, tracebacks); the access log is noise here.
            lines = [line for line in server.output().splitlines() if "gunicorn.access" not in line]
            if lines:
                report.sections.append(("gunicorn log (last 40 lines)", "\n".join(lines[-40:])))
    return report
