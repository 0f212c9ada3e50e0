"""Where the benchmark's data lives: a server, a seeded template database kept between runs,
and a fresh copy of it for each run.

The server is BENCH_DATABASE_URL's, else DATABASE_URL's (any database on it: the benchmark
creates its own two, so the role needs CREATEDB), else an embedded PostgreSQL kept in
var/bench-pgdata and stopped when the benchmark exits.
"""

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from bench import seed, vocabulary
from bench.settings import MONITOR_KEY_NAME, PGDATA, READER_KEY_NAME, RUN_DB, SEED_DB
from service import db
from service.ops import embedded, migrate
from service.web import auth


def server_url() -> tuple[str, str]:
    """(an admin URL on the server, where it came from)."""
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(name):
            return os.environ[name], name
    return embedded.start(PGDATA, keep=True), f"embedded PostgreSQL in {PGDATA}"


def server_facts(admin_url: str) -> dict[str, str]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        settings = (
            "server_version",
            "shared_buffers",
            "max_wal_size",
            "wal_compression",
            "synchronous_commit",
            "fsync",
        )
        return {
            name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
            for name in settings
        }


def postmaster_pid(admin_url: str) -> int | None:
    """The server's pid when it runs on this machine and we may read its data directory."""
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            directory = conn.execute("SHOW data_directory").fetchone()[0]
        with open(os.path.join(directory, "postmaster.pid"), encoding="ascii") as pidfile:
            return int(pidfile.readline())
    except (psycopg.Error, OSError, ValueError):
        return None


def _marker(rows: int) -> str:
    """What the kept seed must say to be reused: the size, and a digest of the code that made it
    (bench/seed.py, bench/vocabulary.py), so that a change to the data's recipe reseeds rather
    than measuring the match texts against a catalogue made by another one."""
    digest = hashlib.sha256()
    for module in (seed, vocabulary):
        digest.update(Path(module.__file__).read_bytes())
    return (
        f"narratives bench seed {digest.hexdigest()[:12]} (catalogue {seed.CATALOGUE}): "
        f"{rows} sightings, complete"
    )


def _seed_state(admin_url: str) -> str | None:
    """The seed database's completion marker (a comment on it), '' if it has none, None if it
    does not exist."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '')"
            "  FROM pg_database WHERE datname = %s",
            (SEED_DB,),
        ).fetchone()
    return None if row is None else row[0]


def prepare_seed(
    admin_url: str, rows: int, *, reseed: bool, say: Callable[[str], None]
) -> dict[str, float] | None:
    """Make sure the seed database holds `rows` sightings and the current migrations; returns
    the seeding timings, or None when the kept one was reused."""
    state = _seed_state(admin_url)
    seed_url = embedded.with_database(admin_url, SEED_DB)
    if state == _marker(rows) and not reseed:
        applied = migrate.migrate(seed_url)
        if applied:
            say(f"applied {len(applied)} new migration(s) to the kept seed database")
        return None
    if state is not None:
        why = "--reseed" if reseed else (state or "incomplete")
        say(f"dropping the seed database {SEED_DB} ({why})")
        embedded.drop_database(admin_url, SEED_DB)
    say(f"seeding {SEED_DB} with {rows:,} sightings (kept for later runs)...")
    embedded.ensure_database(admin_url, SEED_DB)
    migrate.migrate(seed_url)
    timings = seed.seed(seed_url, rows)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(SEED_DB), sql.Literal(_marker(rows))
            )
        )
    return timings


def create_run_database(admin_url: str) -> str:
    """A fresh copy of the seed database for this run (a file copy: seconds, not a reload)."""
    drop_run_database(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        version = conn.info.server_version
        strategy = sql.SQL(" STRATEGY FILE_COPY") if version >= 150000 else sql.SQL("")
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
                sql.Identifier(RUN_DB), sql.Identifier(SEED_DB), strategy
            )
        )
    url = embedded.with_database(admin_url, RUN_DB)
    with psycopg.connect(url, autocommit=True) as conn:
        # The copy is thrown away at the end; an autovacuum of one app's inserts must not run
        # while another app is being measured (a sighting's quote is queued, for the worker to
        # make it a phrase; no worker runs here, so the benchmark measures ingest alone).
        for table in ("sightings", "audit_log", "narrative_phrases", "narrative_phrase_queue"):
            conn.execute(
                sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(
                    sql.Identifier(table)
                )
            )
    return url


def drop_run_database(admin_url: str) -> None:
    embedded.drop_database(admin_url, RUN_DB)


# Cluster-wide WAL counters, and the checkpoints the server started because WAL outgrew
# max_wal_size (pg_stat_checkpointer from PostgreSQL 17, pg_stat_bgwriter before).
_WAL = "SELECT wal_records, wal_fpi, wal_bytes::bigint FROM pg_stat_wal"
_FORCED = {
    True: "SELECT num_requested FROM pg_stat_checkpointer",
    False: "SELECT checkpoints_req FROM pg_stat_bgwriter",
}


def wal_counters(url: str) -> dict[str, int] | None:
    """{records, fpi (full-page images), bytes, forced (checkpoints requested)} so far, or None
    where the statistics cannot be read."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            records, fpi, size = conn.execute(_WAL).fetchone()
            forced = conn.execute(_FORCED[conn.info.server_version >= 170000]).fetchone()[0]
    except psycopg.Error:
        return None
    return {"records": records, "fpi": fpi, "bytes": size, "forced": forced}


def checkpoint(url: str) -> None:
    """Start a measurement with no dirty buffers from the one before (best effort: needs a
    superuser or pg_checkpoint)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.Error:
        pass


def issue_keys(url: str) -> dict[str, str]:
    """A monitor key (for the POSTs) and a reader key (for the GETs): {role: secret}."""
    with db.connect(url) as conn, conn.transaction():
        return {
            role: auth.issue(conn, name=name, role=role, by="bench")["key"]
            for role, name in (("monitor", MONITOR_KEY_NAME), ("reader", READER_KEY_NAME))
        }
