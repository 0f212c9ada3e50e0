"""A real gunicorn serving the app, for the tests that need processes, sockets and concurrency
rather than the in-process test client."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service import db
from service.ops.devserver import GUNICORN
from service.web import auth

ROOT = Path(__file__).resolve().parent.parent


def gunicorn_conf_env(metrics: Path) -> dict[str, str]:
    """The environment of a child that imports service.gunicorn_conf without serving: settings
    it can read, and a metrics directory of the test's (else the module makes its own)."""
    return {
        **os.environ,
        "DATABASE_URL": "postgresql://unused/x",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, base_url: str, process: subprocess.Popen, log) -> None:
        self.base_url = base_url
        self.process = process
        self.log = log
        self.headers: dict[str, str] = {}

    def authorize(self, key: str) -> None:
        """Send this API key on every later request."""
        self.headers["Authorization"] = f"Bearer {key}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in {**self.headers, **(headers or {})}.items():
            request.add_header(name, value)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), _decode(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), _decode(error.read())


def admin_key(database_url: str, name: str) -> str:
    """Issue (and commit) an admin key in that database; returns the secret."""
    with db.connect(database_url) as conn, conn.transaction():
        return auth.issue(conn, name=name, role="admin", by="tests")["key"]


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


@contextmanager
def gunicorn(database_url: str, workers: int = 2, **env: str):
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "RATE_LIMIT_PER_MINUTE": "0",
        "ACCESS_LOG": "false",
        **env,
    }
    # A file, not a pipe: a chatty server never blocks on a full pipe buffer.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            GUNICORN,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = LiveServer(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_until_up(server)
            yield server
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_up(server: LiveServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited: " + server.output()[-2000:])
        try:
            if server.request("GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not become ready")
