"""The three apps, each on a free loopback port with the same workers and environment, stopped
(the whole process group) however the benchmark ends: the service and the bare app under
gunicorn with the service's own gunicorn config, the peer (an ASGI app) under uvicorn with
uvloop and httptools, as its stack is served."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.settings import ROOT

APPS = {
    "service": "service.wsgi:app",
    "bare": "bench.bare_app:app",
    "peer": "bench.peer_app:app",
}
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


@dataclass(frozen=True)
class Server:
    name: str
    base_url: str
    pid: int
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(name: str, port: int, workers: int) -> list[str]:
    """The command that serves app `name`: gunicorn for the two WSGI apps; uvicorn's own
    process manager (`--workers`) for the peer, with its access log off as gunicorn's is."""
    if name == "peer":
        return [
            sys.executable, "-m", "uvicorn", APPS[name], "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
            "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "--config", "python:service.gunicorn_conf", APPS[name],
    ]  # fmt: skip


@contextmanager
def serve(
    name: str, database_url: str, *, workers: int, log: Path, env: dict[str, str]
) -> Iterator[Server]:
    """Serve app `name` (a key of APPS) until the block ends, with `env` added to this
    process's environment. The servers' own access logs are off; the service's JSON access
    line is the service's and stays."""
    port = _free_port()
    metrics_dir = tempfile.TemporaryDirectory(prefix=f"bench-metrics-{name}-")
    env = {
        **os.environ,
        **env,
        "DATABASE_URL": database_url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_ACCESSLOG": "",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir.name,
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command(name, port, workers), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(name, f"http://127.0.0.1:{port}", process.pid, log)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        _stop(process)
        metrics_dir.cleanup()


def worker_pids(server: Server) -> list[int]:
    """The workers (children of gunicorn's arbiter or uvicorn's manager), for a profiler."""
    found = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def _wait_until_ready(server: Server, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited:\n{tail}")
        try:
            with _DIRECT.open(server.base_url + "/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} was not ready within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
