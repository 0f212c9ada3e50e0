"""NDJSON import against PostgreSQL's own limit: `python -m bench.imports [--lines N]`.

Measures, on one database, end to end through the service under gunicorn:
  import  POST /v1/sightings/import with a file of N new sightings (the batch benchmark's shape:
          URL, external_id, actor, Russian quote), streamed from disk: lines/s from the first
          byte sent to the summary received;
  COPY    the same N rows, given new identities, COPY'd straight into `sightings` (its indexes,
          constraints and triggers included) from bytes prepared beforehand, in one transaction:
          what PostgreSQL itself needs, with no parsing, checking or deduplication;
  quotes  the imported quotes' matching phrases, which the insert queues for the worker
          (migrations/0021): built afterwards as the worker's job builds them, one short
          transaction at a time, on one connection: quotes/s, and import and build end to end;
and prints the rates and the import / COPY ratio. Nothing here asserts a time.

The database follows bench/database.py: the server of BENCH_DATABASE_URL, DATABASE_URL, or the
embedded one; a copy of the seeded `narratives_bench` when it exists (so `sightings` holds its
1,000,000 rows and their indexes), else an empty migrated database with the seed's narratives.
It seeds no sightings itself, and drops its database at the end.
"""

import argparse
import http.client
import io
import json
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bench import bodies, database, servers
from bench.seed import NARRATIVES
from bench.settings import DB_PREFIX, MONITOR_KEY_NAME, RESULTS_DIR, SEED_DB
from service.jobs import matching as matching_jobs
from service.ops import embedded, migrate

DB = f"{DB_PREFIX}narratives_bench_import"
_COLUMNS = (
    "narrative_id, observed_at, url, url_normalized, source_name, source_kind, actor_name, "
    "actor_role, quote, language, country, external_id, confidence, reported_in_url, "
    "reported_in_name, content_key, reported_by"
)


def say(message: str) -> None:
    print(message, flush=True)


def prepare(admin_url: str) -> tuple[str, str]:
    """(the URL of a fresh database for this run, what it holds)."""
    embedded.drop_database(admin_url, DB)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        seeded = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') LIKE '%%complete'"
            "  FROM pg_database WHERE datname = %s",
            (SEED_DB,),
        ).fetchone()
        if seeded and seeded[0]:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(DB), sql.Identifier(SEED_DB)
                )
            )
    url = embedded.with_database(admin_url, DB)
    if seeded and seeded[0]:
        migrate.migrate(url)
        return url, f"a copy of the seeded {SEED_DB}"
    embedded.ensure_database(admin_url, DB)
    migrate.migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO narratives (slug, title, summary, created_by)"
            " SELECT s, s, s, 'bench' FROM unnest(%s::text[]) AS s",
            (list(NARRATIVES),),
        )
    return url, "an empty database (no seed found)"


def write_file(path: Path, lines: int, run: str) -> int:
    started = time.time()
    with path.open("wb") as out:
        for n in range(lines):
            item = bodies.item(list(NARRATIVES), run, 0, n, started)
            out.write(json.dumps(item, ensure_ascii=False).encode() + b"\n")
    return path.stat().st_size


def post_file(base_url: str, key: str, path: Path) -> tuple[float, int, dict]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    size = path.stat().st_size
    with path.open("rb") as body:
        started = time.perf_counter()
        connection.request(
            "POST",
            "/v1/sightings/import",
            body=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-ndjson",
                "Content-Length": str(size),
            },
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
        elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, response.status, payload


def raw_copy(url: str) -> tuple[float, int]:
    """COPY the imported rows again, under new identities, straight into `sightings`."""
    with psycopg.connect(url) as conn:
        out = io.BytesIO()
        query = f"""COPY (SELECT narrative_id, observed_at, url || '#copy',
                           url_normalized || '/copy', source_name, source_kind, actor_name,
                           actor_role, quote, language, country, external_id || '-copy',
                           confidence, reported_in_url, reported_in_name, content_key,
                           reported_by
                      FROM sightings WHERE reported_by = '{MONITOR_KEY_NAME}') TO STDOUT"""
        with conn.cursor().copy(query) as copy:
            for block in copy:
                out.write(block)
        data = out.getvalue()
    rows = data.count(b"\n")
    database.checkpoint(url)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor().copy(f"COPY sightings ({_COLUMNS}) FROM STDIN") as copy,
        ):
            view = memoryview(data)
            for start in range(0, len(data), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
        elapsed = time.perf_counter() - started
    return elapsed, rows


def build_quotes(url: str) -> tuple[float, int]:
    """Build every queued quote as the worker does; (seconds, quotes built)."""
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        started = time.perf_counter()
        built, _ = matching_jobs.drain_quotes(conn)
        return time.perf_counter() - started, built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    admin_url, where = database.server_url()
    say(f"server: {where}")
    url, holds = prepare(admin_url)
    say(f"database {DB}: {holds}")
    try:
        key = database.issue_keys(url)["monitor"]
        with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
            path = Path(folder) / "sightings.ndjson"
            size = write_file(path, args.lines, f"imp{os.getpid()}")
            say(f"file: {args.lines:,} lines, {size / 2**20:.1f} MiB")
            log = RESULTS_DIR / f"import-{time.strftime('%Y%m%d-%H%M%S')}.log"
            env = {"ACCESS_LOG": "false", "RATE_LIMIT_PER_MINUTE": "0", "GUNICORN_TIMEOUT": "600"}
            with servers.serve("service", url, workers=args.workers, log=log, env=env) as s:
                database.checkpoint(url)
                elapsed, status, summary = post_file(s.base_url, key, path)
            log.unlink(missing_ok=True)
        if status != 200 or summary.get("created") != args.lines:
            say(f"the import did not store every line: {status} {summary}")
            return 1
        build_elapsed, built = build_quotes(url)
        copy_elapsed, rows = raw_copy(url)
        imported, copied = args.lines / elapsed, rows / copy_elapsed
        say(f"import: {args.lines:,} sightings in {elapsed:.2f} s = {imported:,.0f} sightings/s")
        say(
            f"quotes: {built:,} made matchable in {build_elapsed:.2f} s more"
            f" = {built / build_elapsed:,.0f} quotes/s;"
            f" import and quotes: {args.lines / (elapsed + build_elapsed):,.0f} sightings/s"
        )
        say(f"COPY:   {rows:,} sightings in {copy_elapsed:.2f} s = {copied:,.0f} sightings/s")
        say(f"import / COPY: {imported / copied:.2f}")
    finally:
        embedded.drop_database(admin_url, DB)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
