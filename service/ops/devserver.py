"""`make run` and `make key`, for a developer's machine.

run: a database (DATABASE_URL, else an embedded PostgreSQL kept under var/pgdata), migrations,
demo data, a first admin key if there is none, then gunicorn on 127.0.0.1:8000 and the worker.
Ctrl-C, or a SIGTERM (a process manager, `kill`, an IDE's stop button), stops both.
key: issue another key against the same database.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from service import config, db
from service.domain.roles import ROLES
from service.ops import demo, embedded, migrate
from service.repo import keys as keys_repo
from service.web import auth

ROOT = Path(__file__).resolve().parents[2]
FIRST_KEY = "local-admin"
# gunicorn as the Dockerfile runs it, with this interpreter (so this virtualenv's packages).
GUNICORN = [
    sys.executable,
    "-m",
    "gunicorn",
    "--config",
    "python:service.gunicorn_conf",
    "service.wsgi:app",
]


def database_url() -> str:
    """DATABASE_URL, else the embedded server's `narratives` database (started if need be)."""
    url = config.read().DATABASE_URL
    if url:
        return url
    print("DATABASE_URL not set: using the embedded PostgreSQL in var/pgdata", flush=True)
    admin = embedded.start(ROOT / "var" / "pgdata", keep=True)
    return embedded.ensure_database(admin, "narratives")


def prepare(url: str) -> None:
    applied = migrate.migrate(url)
    print(f"migrations applied: {len(applied)}", flush=True)
    with db.connect(url) as conn, conn.transaction():
        counts = demo.load(conn)
        first_key = None
        if keys_repo.count_active(conn) == 0:
            name = (
                FIRST_KEY
                if keys_repo.get(conn, FIRST_KEY) is None
                else f"{FIRST_KEY}-{os.getpid()}"
            )
            first_key = auth.issue(conn, name=name, role="admin", by="make-run")
    if any(counts.values()):
        print("demo data loaded: " + ", ".join(f"{n} {k}" for k, n in counts.items()), flush=True)
    if first_key:
        print(
            f"\nFirst admin key '{first_key['name']}' (shown once; store it now):\n\n"
            f"    export NT_KEY={first_key['key']}\n",
            flush=True,
        )
    print("More keys: make key NAME=<name> ROLE=reader|monitor|editor|admin", flush=True)


WORKER = [sys.executable, "-m", "service", "worker"]


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a process manager, `kill`, an IDE's stop button) takes Ctrl-C's way out: Python's
    default would end this process alone, skipping `serve`'s `finally` and the atexit hook that
    stops the embedded PostgreSQL, and leave gunicorn holding the port. A second SIGTERM while
    that way out runs is ignored, so it cannot cut the stopping short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def serve(url: str) -> int:
    """gunicorn and the housekeeping worker, as compose runs them, until Ctrl-C or SIGTERM."""
    # Loopback only, unless told otherwise: the dev server is no place for the internet.
    settings = config.read()
    bind = settings.BIND or f"127.0.0.1:{settings.PORT}"
    print(f"serving on http://{bind}  (docs: http://{bind}/docs; Ctrl-C to stop)", flush=True)
    env = config.environment(DATABASE_URL=url, BIND=bind)
    started: list[subprocess.Popen] = []
    try:
        started.append(subprocess.Popen(GUNICORN, env=env, cwd=ROOT))  # noqa: S603 - fixed argv
        started.append(subprocess.Popen(WORKER, env=env, cwd=ROOT))  # noqa: S603 - fixed argv
        return started[0].wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(started)


def _stop(processes: list[subprocess.Popen]) -> None:
    """Terminate, then wait; kill what outlives 15 s. gunicorn's arbiter, on SIGTERM, stops its
    own workers first; killed, it leaves them to notice their parent is gone and exit."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def issue_key(url: str, name: str, role: str) -> int:
    migrate.migrate(url)
    with db.connect(url) as conn, conn.transaction():
        created = auth.issue(conn, name=name, role=role, by="make-key")
    print(f"{role} key '{name}' (shown once; store it now):\n\n    {created['key']}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.ops.devserver")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="migrate, load demo data, serve (the default)")
    key = commands.add_parser("key", help="issue an API key")
    key.add_argument("--name", required=True)
    key.add_argument("--role", required=True, choices=ROLES)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = database_url()
        if args.command == "key":
            return issue_key(url, args.name, args.role)
        prepare(url)
        return serve(url)
    except KeyboardInterrupt:  # before serving: starting the database, migrations, demo data
        return 130


if __name__ == "__main__":
    sys.exit(main())
