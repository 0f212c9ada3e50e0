"""`make run`'s server (service/ops/devserver.py): what it starts, it stops."""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but is not yet reaped by its (gone) parent is a zombie, not alive.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_sigterm_stops_gunicorn_and_the_worker_too(tmp_path):
    """A process manager, `kill` or an IDE stops `make run` with SIGTERM; Python's default would
    end the dev server alone and leave gunicorn holding the port. (Mutation: no SIGTERM
    handler.) Stand-ins for gunicorn and the worker record their pids."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import sys
        from service.ops import devserver

        child = [sys.executable, "-c",
                 "import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\\\n'); "
                 "time.sleep(60)"]
        devserver.GUNICORN = devserver.WORKER = child
        sys.exit(devserver.serve("postgresql://unused/x"))
        """
    )
    env = {**os.environ, "DATABASE_URL": "postgresql://unused/x", "BIND": "127.0.0.1:0"}
    server = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while len(children) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            if pids.exists():
                children = [int(pid) for pid in pids.read_text().split()]
        assert len(children) == 2, "the stand-ins did not start"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        server.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
