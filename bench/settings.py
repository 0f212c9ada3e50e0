"""Fixed names and places the benchmark's modules share."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
LUA_DIR = BENCH_DIR / "lua"
PGDATA = ROOT / "var" / "bench-pgdata"
RESULTS_DIR = ROOT / "var" / "bench"
# The `match` path's fixed bodies for wrk (bench/match_texts.py), written at the start of a run.
MATCH_BODIES = RESULTS_DIR / "match-bodies.jsonl"

# The seeded database is kept between runs and used only as a template; every run works in a
# fresh copy of it, dropped at the end, so each run starts from the same 1,000,000 rows.
# BENCH_DB_PREFIX (lower-case letters, digits, underscores) names them apart, so that two
# checkouts can run benchmarks on one server at once without dropping each other's databases.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "")
if not re.fullmatch(r"[a-z0-9_]{0,20}", DB_PREFIX):
    raise SystemExit(f"BENCH_DB_PREFIX={DB_PREFIX!r}: up to 20 of a-z, 0-9 and _")
SEED_DB = f"{DB_PREFIX}narratives_bench"
RUN_DB = f"{DB_PREFIX}narratives_bench_run"

# Keys issued in each run's copy. The bare app records the monitor's name as `reported_by`,
# so both apps write the same values.
MONITOR_KEY_NAME = "bench-monitor"
READER_KEY_NAME = "bench-reader"

BATCH_SIZE = 500
PAGE_LIMIT = 50
