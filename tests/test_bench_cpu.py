"""The benchmark's CPU split (bench/machine.py's CpuUse, bench/report.py's table): each
group's CPU is its own process trees', a child that exits meanwhile still counts (in its
parent), and the table shows per request what the rounds measured. No database needed."""

import subprocess
import sys
import time

import psycopg
import pytest

from bench import database, machine, report
from bench.load import Result
from bench.paths import BY_KEY
from bench.servers import APPS

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


def _result(
    rps: float, app_s: float | None, db_s: float | None, wal: dict[str, int] | None = None
) -> Result:
    return Result(
        requests=int(rps * 10), duration_s=10, p50_ms=1, p90_ms=1, p99_ms=1, max_ms=1,
        mean_ms=1, app_cpu_s=app_s, db_cpu_s=db_s, wal=wal,
    )  # fmt: skip


def _wal(kib_total: int, forced: int = 0) -> dict[str, int]:
    return {"records": 1, "fpi": 0, "bytes": kib_total * 1024, "forced": forced}


def test_the_table_shows_cpu_per_request_and_per_sighting():
    """Red when the CPU block is dropped from the table or computed per second, not per
    request (or per sighting for a batch)."""
    reads, batch = BY_KEY["get_sightings"], BY_KEY["post_batch"]
    figures = {
        reads.key: {
            "service": _result(1000, 12.0, 4.5, _wal(20_000)),  # 1.20 / 0.45 ms, 2 KiB
            "bare": _result(900, 10.0, 4.0),
            "peer": _result(1500, 9.0, 5.7),
        },
        batch.key: {
            # 25 + 45 ms a batch of 500 (140 us a sighting), 3 MiB of WAL, 2 checkpoints
            "service": _result(20, 5.0, 9.0, _wal(600 * 1024, forced=2)),
            "bare": _result(20, 4.0, 9.0),
            "peer": _result(20, None, None),
        },
    }
    lines = report.table([reads, batch], figures)
    row = next(line for line in lines if line.startswith(reads.title) and "1.20" in line)
    assert row.split("|")[1].split() == ["1.20", "0.45", "2.0"]
    assert row.split("|")[3].split() == ["0.60", "0.38", "-"]
    batch_row = next(line for line in lines if line.startswith(batch.title) and "us" in line)
    cells = batch_row.split("|")
    assert cells[1].split() == ["25.00", "45.00", "3072.0", "140", "us"]
    assert cells[3].split() == ["-", "-", "-"]
    assert any("started 2 checkpoint(s)" in line for line in lines)


def test_rounds_combine_their_cpu_and_an_unknown_round_makes_it_unknown():
    rounds = [_result(100, 1.0, 0.5), _result(100, 2.0, 0.5)]
    combined = report.combine(rounds)
    assert combined.cpu_ms("app") == pytest.approx(1000 * 3.0 / 2000)
    assert combined.as_dict()["cpu_ms_per_request"] == {"app": 1.5, "db": 0.5}
    assert report.combine([*rounds, _result(100, None, 0.5)]).cpu_ms("app") is None


def test_a_quiet_table_says_nothing_of_checkpoints():
    reads = BY_KEY["get_sightings"]
    figures = {reads.key: {app: _result(100, 1.0, 1.0, _wal(10)) for app in APPS}}
    assert not any("checkpoint" in line for line in report.table([reads], figures))


def test_wal_counters_count_what_a_write_logs(database_url):
    """Red when the counters are read from the wrong view (the checkpoint count moved to
    pg_stat_checkpointer in PostgreSQL 17: CI runs 15 and 18) or not at all."""
    before = database.wal_counters(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE t AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 2000) g"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS bench_wal_probe (pad text)")
        conn.execute("INSERT INTO bench_wal_probe SELECT pad FROM pg_temp.t")
        conn.execute("DROP TABLE bench_wal_probe")
    after = database.wal_counters(database_url)
    assert before is not None and after is not None
    assert set(after) == {"records", "fpi", "bytes", "forced"}
    assert after["records"] - before["records"] >= 2000
    assert after["bytes"] - before["bytes"] >= 2000 * 200
    assert after["forced"] >= before["forced"]
    assert database.wal_counters("postgresql://nobody@127.0.0.1:1/none") is None
