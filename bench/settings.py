"""Fixed names and places the benchmark's modules share."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
LUA_DIR = BENCH_DIR / "lua"
PGDATA = ROOT / "var" / "bench-pgdata"
RESULTS_DIR = ROOT / "var" / "bench"

# The seeded database is kept between runs and used only as a template; every run works in a
# fresh copy of it, dropped at the end, so each run starts from the same 1,000,000 rows.
SEED_DB = "narratives_bench"
RUN_DB = "narratives_bench_run"

# Keys issued in each run's copy. The bare app records the monitor's name as `reported_by`,
# so both apps write the same values.
MONITOR_KEY_NAME = "bench-monitor"
READER_KEY_NAME = "bench-reader"

BATCH_SIZE = 500
PAGE_LIMIT = 50
