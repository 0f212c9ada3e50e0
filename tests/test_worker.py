"""The background worker: housekeeping rounds, one at a time, and a clean stop."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

import service.jobs
from service import config
from service.jobs import housekeeping, registry, worker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker_db(migrated_database):
    with migrated_database("worker") as url:
        yield url


def seed_expirable(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO idempotency_keys (key_name, idempotency_key, method, path, request_hash,
                                          created_at)
            VALUES ('k', 'old', 'POST', '/v1/sightings', 'h', now() - interval '25 hours'),
                   ('k', 'new', 'POST', '/v1/sightings', 'h', now() - interval '1 hour')
            """
        )
        conn.execute(
            """
            INSERT INTO rate_limit_windows (key_name, window_start, hits)
            VALUES ('k', date_trunc('minute', now()) - interval '10 minutes', 5),
                   ('k', date_trunc('minute', now()), 1)
            """
        )


def remaining(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        return conn.execute(query).fetchone()[0]


HOUSEKEEPING = next(job for job in registry() if job.run is housekeeping.purge_expired)


def test_a_round_forgets_only_what_has_expired(worker_db):
    seed_expirable(worker_db)

    purged = worker.run_once(worker_db, HOUSEKEEPING, config.read({}))

    assert purged == {"idempotency_keys": 1, "rate_limit_windows": 1}
    assert remaining(worker_db, "idempotency_keys") == 1
    assert remaining(worker_db, "rate_limit_windows") == 1


def test_a_round_is_skipped_while_another_worker_holds_the_lock(worker_db):
    seed_expirable(worker_db)
    with psycopg.connect(worker_db, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (HOUSEKEEPING.lock_key,))

        assert worker.run_once(worker_db, HOUSEKEEPING, config.read({})) is None

    assert remaining(worker_db, "idempotency_keys") == 2


def test_the_compose_worker_command_runs_and_stops_on_sigterm(worker_db):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["worker"]["command"]
    assert command[:3] == ["python", "-m", "service"]
    seed_expirable(worker_db)
    env = {**os.environ, "DATABASE_URL": worker_db, "WORKER_INTERVAL_SECONDS": "0.2"}

    process = subprocess.Popen(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while remaining(worker_db, "idempotency_keys") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, output
    assert remaining(worker_db, "idempotency_keys") == 1
    assert '"message": "worker stopped"' in output


def test_every_job_module_is_known_to_the_worker():
    folder = Path(service.jobs.__file__).parent
    modules = {f"service.jobs.{path.stem}" for path in folder.glob("*.py")}
    modules -= {"service.jobs.__init__", "service.jobs.worker"}
    assert modules <= set(service.jobs.MODULES), "list the module in service.jobs.MODULES"


def test_the_worker_runs_every_registered_job_when_due(worker_db):
    seed_expirable(worker_db)

    quick = {"WORKER_INTERVAL_SECONDS": "0.1", "MATCH_TERMS_SECONDS": "1"}
    worker.run(worker_db, config.read(quick), rounds=2)

    assert remaining(worker_db, "idempotency_keys") == 1
    assert remaining(worker_db, "rate_limit_windows") == 1
