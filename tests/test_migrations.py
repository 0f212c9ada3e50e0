"""The migration runner, its CLI and the readiness probe, against a real PostgreSQL.

Most tests work on `fresh_database_url` (an empty database of their own) and, where the files
themselves are the subject, on a temporary migrations directory.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from service import create_app
from service.db import EXTENSION
from service.ops.migrate import MigrationError, migrate

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO_ROOT / "migrations"


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def recorded(url: str) -> list[tuple[int, str, str]]:
    if not query(url, "SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0]:
        return []
    return query(url, "SELECT version, name, checksum FROM schema_migrations ORDER BY version")


def table_exists(url: str, name: str) -> bool:
    return query(url, "SELECT to_regclass(%s) IS NOT NULL", (name,))[0][0]


def write(directory: Path, name: str, sql: str) -> Path:
    path = directory / name
    path.write_text(sql, encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(database_url: str | None, **extra_env: str) -> dict:
    """Popen/run arguments for `python -m service migrate`, from the repo root."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DIR")}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(extra_env)
    command = [sys.executable, "-m", "service", "migrate"]
    return {"args": command, "cwd": REPO_ROOT, "env": env, "text": True}


def run_cli(database_url: str | None, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(**cli(database_url, **extra_env), capture_output=True, timeout=120)


@pytest.fixture(autouse=True)
def _default_migrations_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIGRATIONS_DIR", raising=False)


# --------------------------------------------------------------------------- the real migrations


def test_migrate_applies_every_file_in_order_and_records_checksums(fresh_database_url):
    files = sorted(MIGRATIONS.glob("*.sql"), key=lambda p: int(p.name[:4]))
    assert files, "no migrations on disk"

    done = migrate(fresh_database_url)

    assert [m.path.name for m in done] == [p.name for p in files]
    assert recorded(fresh_database_url) == [(int(p.name[:4]), p.stem[5:], sha256(p)) for p in files]


def test_second_migrate_is_a_no_op(fresh_database_url):
    migrate(fresh_database_url)
    before = query(fresh_database_url, "SELECT * FROM schema_migrations ORDER BY version")

    assert migrate(fresh_database_url) == []
    assert query(fresh_database_url, "SELECT * FROM schema_migrations ORDER BY version") == before


def test_schema_has_the_expected_tables_extension_and_constraints(database_url):
    tables = query(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    expected = ["narratives", "narrative_aliases", "sightings", "rebuttals", "rebuttal_narratives"]
    assert set(expected) <= {name for (name,) in tables}
    assert query(database_url, "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")

    constraints = query(
        database_url,
        "SELECT conname, contype::text, conrelid::regclass::text, confrelid::regclass::text"
        " FROM pg_constraint WHERE conname IN"
        " ('narratives_slug_key', 'rebuttal_narratives_narrative_fkey') ORDER BY conname",
    )
    assert constraints == [
        ("narratives_slug_key", "u", "narratives", "-"),
        ("rebuttal_narratives_narrative_fkey", "f", "rebuttal_narratives", "narratives"),
    ]
    [(tablename, indexdef)] = query(
        database_url,
        "SELECT tablename, indexdef FROM pg_indexes WHERE indexname = 'sighting_identities_pkey'",
    )
    assert tablename == "sighting_identities"
    assert indexdef.startswith("CREATE UNIQUE INDEX")


# --------------------------------------------------------------------------- a temporary directory


def test_order_is_by_version_whatever_order_the_files_were_written(tmp_path, fresh_database_url):
    write(tmp_path, "0010_c.sql", "INSERT INTO log (step) VALUES ('c');")
    write(tmp_path, "0002_b.sql", "INSERT INTO log (step) VALUES ('b');")
    write(tmp_path, "0001_z.sql", "CREATE TABLE log (n serial PRIMARY KEY, step text);")

    done = migrate(fresh_database_url, directory=tmp_path)

    assert [(m.version, m.name) for m in done] == [(1, "z"), (2, "b"), (10, "c")]
    assert query(fresh_database_url, "SELECT step FROM log ORDER BY n") == [("b",), ("c",)]


def test_migrations_dir_env_is_used_when_no_directory_is_given(
    tmp_path, fresh_database_url, monkeypatch
):
    write(tmp_path, "0001_from_env.sql", "CREATE TABLE from_env (id int);")
    monkeypatch.setenv("MIGRATIONS_DIR", str(tmp_path))

    assert [m.name for m in migrate(fresh_database_url)] == ["from_env"]
    assert table_exists(fresh_database_url, "from_env")


@pytest.mark.parametrize(
    "bad_name",
    [
        "1_x.sql",
        "0001-x.sql",
        "0002_Upper.sql",
        "00003_x.sql",
        pytest.param(
            "\u0660\u0660\u0660\u0662_x.sql",  # Arabic-Indic digits: "0002" to int(), not ASCII
            id="non-ascii-digits",
        ),
    ],
)
def test_badly_named_file_is_refused_before_anything_runs(tmp_path, fresh_database_url, bad_name):
    write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (id int);")
    write(tmp_path, bad_name, "CREATE TABLE bad (id int);")

    with pytest.raises(MigrationError, match=re.escape(bad_name)):
        migrate(fresh_database_url, directory=tmp_path)
    assert not table_exists(fresh_database_url, "ok")
    assert recorded(fresh_database_url) == []


def test_two_files_with_one_version_are_refused(tmp_path, fresh_database_url):
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id int);")
    write(tmp_path, "0001_b.sql", "CREATE TABLE b (id int);")

    with pytest.raises(MigrationError, match="version 1 is used twice"):
        migrate(fresh_database_url, directory=tmp_path)
    assert recorded(fresh_database_url) == []


def test_editing_an_applied_file_is_refused_and_nothing_else_applies(tmp_path, fresh_database_url):
    first = write(tmp_path, "0001_a.sql", "CREATE TABLE a (id int);")
    migrate(fresh_database_url, directory=tmp_path)
    first.write_text("CREATE TABLE a (id bigint);", encoding="utf-8")
    write(tmp_path, "0002_b.sql", "CREATE TABLE b (id int);")

    with pytest.raises(MigrationError, match=r"0001_a\.sql was edited"):
        migrate(fresh_database_url, directory=tmp_path)
    assert [v for v, _, _ in recorded(fresh_database_url)] == [1]
    assert not table_exists(fresh_database_url, "b")


def test_removing_an_applied_file_is_refused(tmp_path, fresh_database_url):
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id int);")
    second = write(tmp_path, "0002_b.sql", "CREATE TABLE b (id int);")
    migrate(fresh_database_url, directory=tmp_path)
    second.unlink()
    write(tmp_path, "0003_c.sql", "CREATE TABLE c (id int);")

    with pytest.raises(MigrationError, match="version 2 is applied but its file is missing"):
        migrate(fresh_database_url, directory=tmp_path)
    assert not table_exists(fresh_database_url, "c")


def test_failing_migration_rolls_back_entirely_and_propagates(tmp_path, fresh_database_url):
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id int);")
    broken = write(
        tmp_path, "0002_b.sql", "CREATE TABLE partial (id int);\nSELECT * FROM no_such_table;"
    )
    write(tmp_path, "0003_c.sql", "CREATE TABLE c (id int);")

    with pytest.raises(psycopg.errors.UndefinedTable, match="no_such_table"):
        migrate(fresh_database_url, directory=tmp_path)
    assert [(v, n) for v, n, _ in recorded(fresh_database_url)] == [(1, "a")]
    assert table_exists(fresh_database_url, "a")
    assert not table_exists(fresh_database_url, "partial")
    assert not table_exists(fresh_database_url, "c")

    # Once fixed (it was never recorded, so editing it is allowed), the rest applies.
    broken.write_text("CREATE TABLE partial (id int);", encoding="utf-8")
    assert [m.version for m in migrate(fresh_database_url, directory=tmp_path)] == [2, 3]


# --------------------------------------------------------------------------- concurrency


def test_concurrent_threads_apply_each_migration_exactly_once(tmp_path, fresh_database_url):
    write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.5);\nCREATE TABLE slow (id int);")
    write(tmp_path, "0002_after.sql", "CREATE TABLE after_slow (id int);")
    start = threading.Barrier(6)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append([m.version for m in migrate(fresh_database_url, directory=tmp_path)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [[], [], [], [], [], [1, 2]]
    assert [v for v, _, _ in recorded(fresh_database_url)] == [1, 2]


def test_concurrent_cli_processes_all_succeed(fresh_database_url):
    procs = [
        subprocess.Popen(**cli(fresh_database_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * 6, outputs
    assert not any("already exists" in err or "Traceback" in err for _, err in outputs)
    names = [p.stem for p in sorted(MIGRATIONS.glob("*.sql"))]
    for name in names:
        assert sum(name in out for out, _ in outputs) == 1
    assert len(recorded(fresh_database_url)) == len(names)


# --------------------------------------------------------------------------- the CLI


def test_cli_migrate_prints_applied_names(fresh_database_url):
    result = run_cli(fresh_database_url)

    assert result.returncode == 0, result.stderr
    assert "0001_core" in result.stdout
    assert run_cli(fresh_database_url).stdout.strip() == ("migrations: nothing to do")


def test_cli_migrate_refuses_an_edited_file_without_a_traceback(tmp_path, fresh_database_url):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    assert run_cli(fresh_database_url, MIGRATIONS_DIR=str(copy)).returncode == 0
    with (copy / "0001_core.sql").open("a", encoding="utf-8") as fh:
        fh.write("\n-- an afterthought\n")

    result = run_cli(fresh_database_url, MIGRATIONS_DIR=str(copy))

    assert result.returncode != 0
    assert "0001_core.sql was edited after it was applied" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_migrate_without_database_url_is_a_usage_error():
    result = run_cli(None)

    assert result.returncode != 0
    assert "Usage:" in result.stderr
    assert "DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- readiness


@pytest.fixture
def fresh_app(fresh_database_url):
    app = create_app({"DATABASE_URL": fresh_database_url, "DB_POOL_MIN_SIZE": 0})
    yield app
    app.extensions[EXTENSION].close()


def test_readyz_is_ok_on_the_migrated_test_app(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_pending_migrations_until_migrated(fresh_app, fresh_database_url):
    client = fresh_app.test_client()
    pending_count = len(list(MIGRATIONS.glob("*.sql")))

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"] == {"database": "ok", "migrations": f"{pending_count} pending"}
    assert client.get("/healthz").json == {"status": "ok"}  # liveness ignores the database

    migrate(fresh_database_url)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["migrations"] == "ok"


def test_readyz_reports_an_edited_migration_as_mismatch(
    tmp_path, fresh_app, fresh_database_url, monkeypatch
):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    monkeypatch.setenv("MIGRATIONS_DIR", str(copy))
    migrate(fresh_database_url)
    with (copy / "0001_core.sql").open("a", encoding="utf-8") as fh:
        fh.write("\n-- edited\n")

    response = fresh_app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == "mismatch"
