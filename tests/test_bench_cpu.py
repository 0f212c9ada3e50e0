"""The benchmark's CPU split (bench/machine.py's CpuUse, bench/report.py's table): each
group's CPU is its own process trees', a child that exits meanwhile still counts (in its
parent), and the table shows per request what the rounds measured. No database needed."""

import subprocess
import sys
import time

import pytest

from bench import machine, report
from bench.load import Result
from bench.paths import BY_KEY

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# Burns CPU for the given seconds in a child it waits for, then sleeps: its tree's CPU is the
# child's, reaped into this process's cutime by the time it sleeps.
_PARENT = """
import subprocess, sys, time
subprocess.run([sys.executable, "-c",
    "import sys, time\\nend = time.process_time() + float(sys.argv[1])\\n"
    "while time.process_time() < end: pass", sys.argv[1]], check=True)
print("burnt", flush=True)
time.sleep(60)
"""


def _spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)


def test_cpu_is_split_by_tree_and_a_reaped_child_still_counts():
    """Red when the split reads only utime/stime (the exited burner's time is lost) or
    attributes one tree's CPU to another."""
    sleeper = _spawn("import time; time.sleep(60)")
    burner = None
    try:
        used = machine.CpuUse({"busy": [], "idle": [sleeper.pid]})
        burner = _spawn(_PARENT, "0.6")
        used.groups["busy"] = [burner.pid]
        used.start()
        assert burner.stdout.readline().strip() == "burnt"
        time.sleep(0.1)
        seconds = used.seconds()
    finally:
        for process in (sleeper, burner):
            if process is not None:
                process.kill()
                process.wait()
    assert seconds is not None
    assert seconds["busy"] >= 0.5
    assert seconds["idle"] < 0.05


def _result(rps: float, app_s: float | None, db_s: float | None) -> Result:
    return Result(
        requests=int(rps * 10), duration_s=10, p50_ms=1, p90_ms=1, p99_ms=1, max_ms=1,
        mean_ms=1, app_cpu_s=app_s, db_cpu_s=db_s,
    )  # fmt: skip


def test_the_table_shows_cpu_per_request_and_per_sighting():
    """Red when the CPU block is dropped from the table or computed per second, not per
    request (or per sighting for a batch)."""
    reads, batch = BY_KEY["get_sightings"], BY_KEY["post_batch"]
    figures = {
        reads.key: {
            "service": _result(1000, 12.0, 4.5),  # 1.20 app ms and 0.45 db ms per request
            "bare": _result(900, 10.0, 4.0),
            "peer": _result(1500, 9.0, 5.7),
        },
        batch.key: {
            "service": _result(20, 5.0, 9.0),  # 25 + 45 ms a batch of 500: 140 us a sighting
            "bare": _result(20, 4.0, 9.0),
            "peer": _result(20, None, None),
        },
    }
    lines = report.table([reads, batch], figures)
    row = next(line for line in lines if line.startswith(reads.title) and "1.20" in line)
    assert row.split("|")[1].split() == ["1.20", "0.45"]
    assert row.split("|")[3].split() == ["0.60", "0.38"]
    batch_row = next(line for line in lines if line.startswith(batch.title) and "us" in line)
    cells = batch_row.split("|")
    assert cells[1].split() == ["25.00", "45.00", "140", "us"]
    assert cells[3].split() == ["-", "-"]


def test_rounds_combine_their_cpu_and_an_unknown_round_makes_it_unknown():
    rounds = [_result(100, 1.0, 0.5), _result(100, 2.0, 0.5)]
    combined = report.combine(rounds)
    assert combined.cpu_ms("app") == pytest.approx(1000 * 3.0 / 2000)
    assert combined.as_dict()["cpu_ms_per_request"] == {"app": 1.5, "db": 0.5}
    assert report.combine([*rounds, _result(100, None, 0.5)]).cpu_ms("app") is None
