"""Load generation: wrk (Debian's package) with the Lua scripts in bench/lua/, or, without wrk,
a Python generator (threads, one keep-alive http.client connection each). Both return a Result.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.paths import Path
from bench.settings import BATCH_SIZE, LUA_DIR, MATCH_BODIES


@dataclass
class Result:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    others_cpu: float | None = None  # share of all cores other processes used meanwhile
    app_cpu_s: float | None = None  # CPU seconds the app's processes used meanwhile
    db_cpu_s: float | None = None  # and PostgreSQL's (the postmaster's tree)
    wal: dict[str, int] | None = None  # WAL written meanwhile: records, fpi, bytes, forced

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def wal_kib(self) -> float | None:
        """KiB of WAL written per request, or None."""
        if self.wal is None or not self.requests:
            return None
        return self.wal["bytes"] / 1024 / self.requests

    def cpu_ms(self, part: str) -> float | None:
        """CPU milliseconds per request that `part` ("app" or "db") used, or None."""
        seconds = self.app_cpu_s if part == "app" else self.db_cpu_s
        if seconds is None or not self.requests:
            return None
        return 1000 * seconds / self.requests

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        cpu = {part: self.cpu_ms(part) for part in ("app", "db")}
        return {
            **asdict(self),
            "rps": round(self.rps, 2),
            "cpu_ms_per_request": {k: v if v is None else round(v, 3) for k, v in cpu.items()},
        }


@dataclass(frozen=True)
class Load:
    """How hard to push: the same for both apps."""

    connections: int
    threads: int
    generator: str  # "wrk" or "python"


def find_wrk(install: bool, say: Any) -> str | None:
    """wrk's path; installs Debian's package when allowed, missing and running as root."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    say("wrk not found: apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_wrk = ["apt-get", "install", "-y", "-qq", "wrk"]
    for attempt in ([install_wrk], [["apt-get", "update", "-qq"], install_wrk]):
        for command in attempt:
            subprocess.run(command, env=env, timeout=300, check=False, capture_output=True)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def run(
    load: Load,
    base_url: str,
    path: Path,
    *,
    key: str,
    slugs: list[str],
    tag: str,
    seconds: int,
) -> Result:
    """Send `path`'s requests for `seconds` over `load.connections` connections."""
    if load.generator == "python":
        from bench import python_load

        return python_load.run(
            base_url,
            path,
            key=key,
            slugs=slugs,
            tag=tag,
            seconds=seconds,
            connections=load.connections,
        )
    return _wrk(load, base_url, path, key=key, slugs=slugs, tag=tag, seconds=seconds)


def _wrk(
    load: Load, base_url: str, path: Path, *, key: str, slugs: list[str], tag: str, seconds: int
) -> Result:
    env = {
        **os.environ,
        "BENCH_LUA_DIR": str(LUA_DIR),
        "BENCH_KEY": key,
        "BENCH_RUN": tag,
        "BENCH_SLUGS": ",".join(slugs),
        "BENCH_PATH": path.target,
        "BENCH_BATCH": str(BATCH_SIZE),
        "BENCH_BODIES": str(MATCH_BODIES),
    }
    command = [
        "wrk",
        "--threads", str(min(load.threads, load.connections)),
        "--connections", str(load.connections),
        "--duration", f"{seconds}s",
        "--timeout", "30s",
        "--script", str(LUA_DIR / path.script),
        base_url,
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            raw = json.loads(line.removeprefix("BENCH_RESULT "))
            break
    else:
        raise RuntimeError(
            f"wrk gave no result (exit {done.returncode} after "
            f"{time.monotonic() - started:.0f} s): {done.stdout[-800:]} {done.stderr[-800:]}"
        )
    return Result(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1e3,
        p90_ms=raw["p90_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        max_ms=raw["max_us"] / 1e3,
        mean_ms=raw["mean_us"] / 1e3,
        errors={name: n for name, n in raw["errors"].items() if n},
    )
