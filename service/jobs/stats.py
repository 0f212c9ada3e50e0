"""Statistics: fold the sighting-count deltas that ingest appends into per-narrative totals, so
that the deltas a coverage request adds up stay few (migrations/0013_stats.sql)."""

from typing import Any

from psycopg import Connection

from service.config import Settings
from service.jobs import job
from service.repo import stats


@job("stats-fold", every=lambda settings: settings.WORKER_INTERVAL_SECONDS)
def fold_sighting_counts(conn: Connection, settings: Settings) -> dict[str, Any]:
    return {"sighting_count_deltas": stats.fold(conn)}
