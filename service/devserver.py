"""`make run`: a database (DATABASE_URL, else an embedded PostgreSQL kept under var/pgdata),
migrations, demo data, then gunicorn on 127.0.0.1:8000. Ctrl-C stops everything it started."""

import os
import subprocess
import sys
from pathlib import Path

from service import db, demo, embedded, migrate

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL not set: starting the embedded PostgreSQL in var/pgdata", flush=True)
        admin = embedded.start(ROOT / "var" / "pgdata", keep=True)
        url = embedded.ensure_database(admin, "narratives")
    applied = migrate.migrate(url)
    print(f"migrations applied: {len(applied)}", flush=True)
    with db.connect(url) as conn, conn.transaction():
        counts = demo.load(conn)
    if any(counts.values()):
        print("demo data loaded: " + ", ".join(f"{n} {k}" for k, n in counts.items()), flush=True)
    bind = os.environ.get("BIND", "127.0.0.1:8000")
    print(f"serving on http://{bind}  (API docs: http://{bind}/docs; Ctrl-C to stop)", flush=True)
    env = {**os.environ, "DATABASE_URL": url, "BIND": bind}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:service.gunicorn_conf",
        "service.wsgi:app",
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603 - fixed argv
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        return server.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
