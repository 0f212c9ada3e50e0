"""Statistics: fold the deltas that ingest appends into per-narrative totals (the sighting
counts, migrations/0013_stats.sql) and per-narrative days (the timelines,
migrations/0022_timeline_days.sql), so that the deltas a reader adds up stay few. Two jobs, each
its own transaction: a failure of one (a worker started before its migration) holds the other
up for nothing."""

from typing import Any

from psycopg import Connection

from service.config import Settings
from service.jobs import job
from service.repo import stats, timeline


@job("stats-fold", every=lambda settings: settings.WORKER_INTERVAL_SECONDS)
def fold_sighting_counts(conn: Connection, settings: Settings) -> dict[str, Any]:
    return {"sighting_count_deltas": stats.fold(conn)}


@job("timeline-fold", every=lambda settings: settings.WORKER_INTERVAL_SECONDS)
def fold_timeline_days(conn: Connection, settings: Settings) -> dict[str, Any]:
    return {"day_deltas": timeline.fold(conn)}
