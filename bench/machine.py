"""Facts about the machine for the report, and how busy it is with work that is not ours."""

import os
import platform
import time
from typing import Any


def facts() -> dict[str, Any]:
    memory = ""
    cpu = platform.processor()
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            memory = f"{int(meminfo.readline().split()[1]) / 2**20:.1f} GiB"
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            models = (line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
            cpu = next(models, cpu)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "cpu": cpu,
        "python": platform.python_version(),
    }


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all cores since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_fraction(seconds: float = 2.0) -> float | None:
    """The share of all cores in use over the next `seconds` (before anything of ours runs, so
    it is other people's load); None where /proc/stat is missing."""
    try:
        busy_before, total_before = _cpu_times()
        time.sleep(seconds)
        busy_after, total_after = _cpu_times()
    except OSError:
        return None
    elapsed = total_after - total_before
    return (busy_after - busy_before) / elapsed if elapsed else None


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU jiffies used by it and by its children it has reaped)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        # after the command: state, ppid, ... utime(12) stime(13) cutime(14) cstime(15)
        table[int(entry)] = (int(fields[1]), sum(int(v) for v in fields[11:15]))
    return table


def _ours(table: dict[int, tuple[int, int]], roots: list[int]) -> int:
    """CPU jiffies of the trees under `roots` (this benchmark, its servers, its load)."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, todo, seen = 0, [pid for pid in roots if pid in table], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


class ForeignLoad:
    """How much of the machine other processes used between start() and share()."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self._start: tuple[int, int, int] | None = None

    def _sample(self) -> tuple[int, int, int]:
        busy, total = _cpu_times()
        return busy, total, _ours(_process_table(), self.roots)

    def start(self) -> None:
        try:
            self._start = self._sample()
        except OSError:
            self._start = None

    def share(self) -> float | None:
        """Share of all cores used by others since start() (0.0 to 1.0), or None."""
        if self._start is None:
            return None
        busy, total, ours = self._sample()
        elapsed = total - self._start[1]
        if not elapsed:
            return None
        foreign = (busy - self._start[0]) - (ours - self._start[2])
        return max(0.0, foreign / elapsed)


class CpuUse:
    """CPU seconds that each named group of process trees used between start() and seconds():
    the app's (its server and workers) and PostgreSQL's (the postmaster and its backends), so
    that a run says where a request's CPU went, not only how fast it came back. A process's own
    time and that of its children it has reaped both count: a backend or worker that exits
    meanwhile is still counted, in its parent."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._start: dict[str, int] | None = None

    def _sample(self) -> dict[str, int]:
        table = _process_table()
        return {name: _ours(table, roots) for name, roots in self.groups.items()}

    def start(self) -> None:
        try:
            self._start = self._sample()
        except OSError:
            self._start = None

    def seconds(self) -> dict[str, float] | None:
        """{group: CPU seconds since start()}, or None where /proc could not be read."""
        if self._start is None:
            return None
        try:
            now = self._sample()
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        return {name: (now[name] - self._start[name]) / tick for name in self.groups}


def wait_until_quiet(roots: list[int], *, within: float, below: float = 0.1) -> float | None:
    """Wait (at most `within` seconds) until other processes use less than `below` of the
    machine over a second; returns the last share seen."""
    deadline = time.monotonic() + within
    while True:
        probe = ForeignLoad(roots)
        probe.start()
        time.sleep(1.0)
        share = probe.share()
        if share is None or share < below or time.monotonic() >= deadline:
            return share


def rss_mib(pid: int) -> float | None:
    """A process's resident memory in MiB (VmRSS); None where /proc is missing or it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
