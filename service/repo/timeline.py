"""SQL for a narrative's timeline: its span, its sightings per bucket, its rebuttals in the range.
Functions take a connection first and never commit.

False-positive sightings are never counted. Days and weeks are read from the per-day rollup
(migration 0022) plus the deltas not yet folded into it, so a year's timeline costs the same
however many sightings a narrative has; hours count the sightings in the (bounded) range.
"""

import uuid
from datetime import datetime
from typing import Any

from psycopg import Connection, sql

# Bucket widths. Fixed lengths (not '1 day'), so that adding them never depends on the session's
# time zone: in UTC a day is always 24 hours.
STEPS = {"hour": "1 hour", "day": "24 hours", "week": "168 hours"}


def span(conn: Connection, narrative_id: uuid.UUID) -> dict[str, Any] | None:
    """The narrative's title and its first and last sighting: the folded totals and the deltas
    not yet folded, or two index probes while a delta that may have narrowed them is pending."""
    return conn.execute(
        """
        SELECT n.title,
               CASE WHEN d.seen_stale
                    THEN (SELECT min(observed_at) FROM sightings
                           WHERE narrative_id = n.id AND status <> 'false_positive')
                    ELSE least(t.first_seen_at, d.first_seen_at) END AS first_seen_at,
               CASE WHEN d.seen_stale
                    THEN (SELECT max(observed_at) FROM sightings
                           WHERE narrative_id = n.id AND status <> 'false_positive')
                    ELSE greatest(t.last_seen_at, d.last_seen_at) END AS last_seen_at
          FROM narratives n
         CROSS JOIN LATERAL (
               SELECT min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at,
                      bool_or(seen_stale) AS seen_stale
                 FROM narrative_sighting_deltas
                WHERE narrative_id = n.id) d
          LEFT JOIN narrative_sighting_totals t ON t.narrative_id = n.id
         WHERE n.id = %(id)s
        """,
        {"id": narrative_id},
    ).fetchone()


# Shared by both: the fine counts rolled up by kind and by language, per bucket, every bucket of
# the range present (empty ones with zeros), oldest first.
_ROLLUP = sql.SQL("""counted AS (
    SELECT start, kind, lower(language) AS language, sum(n) AS n
      FROM fine
     GROUP BY GROUPING SETS ((start, kind), (start, lower(language)))
),
per_bucket AS (
    SELECT start,
           sum(n) FILTER (WHERE kind IS NOT NULL) AS sightings,
           jsonb_object_agg(kind, n) FILTER (WHERE kind IS NOT NULL) AS by_source_kind,
           jsonb_object_agg(language, n) FILTER (WHERE kind IS NULL) AS by_language
      FROM counted
     GROUP BY start
)
SELECT b.start, coalesce(p.sightings, 0)::bigint AS sightings,
       coalesce(p.by_source_kind, '{}') AS by_source_kind,
       coalesce(p.by_language, '{}') AS by_language
  FROM b
  LEFT JOIN per_bucket p ON p.start = b.start
 ORDER BY b.start
""")

# Hours: every bucket of the range from generate_series (so empty ones are present, with zeros);
# for each, an index range scan of the narrative's sightings counted by source kind and language
# (a few hundred rows per group, hashed in memory, where one GROUP BY over the whole range would
# sort it all: the planner cannot estimate how many buckets there are). That small result is
# then rolled up by kind and by language. Steps have fixed lengths: see STEPS.
_HOUR_BUCKETS = (
    sql.SQL("""
WITH b AS (
    SELECT start
      FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - %(step)s::interval,
                           %(step)s::interval) AS g (start)
),
fine AS (
    SELECT b.start, c.kind, c.language, c.n
      FROM b
     CROSS JOIN LATERAL (
           SELECT s.source_kind AS kind, s.language, count(*) AS n
             FROM sightings s
            WHERE s.narrative_id = %(id)s AND s.status <> 'false_positive'
              AND s.observed_at >= b.start AND s.observed_at < b.start + %(step)s::interval
            GROUP BY 1, 2) c
),
""")
    + _ROLLUP
)

# Days and weeks: the narrative's cells of narrative_days (migration 0022) and the deltas not yet
# folded into them, in the range, added up per bucket (date_bin: the bucket's start, counted from
# the range's) and kind and language; a cell whose sightings were all taken away adds up to 0 and
# is left out, as a kind no sighting has. At most a row per day, kind and language, however many
# sightings there are.
_DAY_BUCKETS = (
    sql.SQL("""
WITH b AS (
    SELECT start
      FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - %(step)s::interval,
                           %(step)s::interval) AS g (start)
),
fine AS (
    SELECT date_bin(%(step)s::interval, c.day, %(lo)s::timestamptz) AS start,
           c.source_kind AS kind, c.language, sum(c.n) AS n
      FROM (SELECT day, source_kind, language, sightings AS n
              FROM narrative_days
             WHERE narrative_id = %(id)s AND day >= %(lo)s AND day < %(hi)s
            UNION ALL
            SELECT day, source_kind, language, delta
              FROM narrative_day_deltas
             WHERE narrative_id = %(id)s AND day >= %(lo)s AND day < %(hi)s) c
     GROUP BY 1, 2, 3
    HAVING sum(c.n) <> 0
),
""")
    + _ROLLUP
)


def buckets(
    conn: Connection, narrative_id: uuid.UUID, *, unit: str, lo: datetime, hi: datetime
) -> list[dict[str, Any]]:
    """Every `unit` bucket starting in [lo, hi) (both on bucket boundaries), oldest first, with
    its sightings in total, by source kind and by language (languages lower-cased)."""
    params = {"id": narrative_id, "lo": lo, "hi": hi, "step": STEPS[unit]}
    return conn.execute(_HOUR_BUCKETS if unit == "hour" else _DAY_BUCKETS, params).fetchall()


_REBUTTALS = """
SELECT r.id, r.published_at, r.verdict, r.url,
       json_build_object('name', r.issuer_name, 'role', r.issuer_role,
                         'organization', r.issuer_organization, 'country', r.issuer_country,
                         'kind', r.issuer_kind) AS issuer,
       count(*) OVER () AS in_range
  FROM rebuttal_narratives k
  JOIN rebuttals r ON r.id = k.rebuttal_id
 WHERE k.narrative_id = %(id)s AND k.published_at >= %(lo)s AND k.published_at < %(hi)s
 ORDER BY k.published_at, k.rebuttal_id
 LIMIT %(n)s
"""


def rebuttals_between(
    conn: Connection, narrative_id: uuid.UUID, *, lo: datetime, hi: datetime, limit: int
) -> list[dict[str, Any]]:
    """The narrative's rebuttals published in [lo, hi), oldest first, at most `limit`; each row
    carries `in_range`, how many there are in all."""
    params = {"id": narrative_id, "lo": lo, "hi": hi, "n": limit}
    return conn.execute(_REBUTTALS, params).fetchall()


def fold(conn: Connection) -> int:
    """Fold the day deltas committed so far into narrative_days; returns how many were folded.

    As the count fold (service/repo/stats.py): the DELETE takes only the deltas its snapshot
    sees, those committed meanwhile stay for the next round, and readers' sums are the same
    before and after. Cells that add up to 0 are deleted, so the rollup holds only days with
    sightings. Two folds at once take turns on the deltas' row locks: the second finds the rows
    the first deleted gone."""
    row = conn.execute(
        """
        WITH gone AS (
            DELETE FROM narrative_day_deltas
            RETURNING narrative_id, day, source_kind, language, delta
        ),
        summed AS (
            INSERT INTO narrative_days AS d (narrative_id, day, source_kind, language, sightings)
            SELECT narrative_id, day, source_kind, language, sum(delta)
              FROM gone
             GROUP BY 1, 2, 3, 4
            HAVING sum(delta) <> 0
            ON CONFLICT (narrative_id, day, source_kind, language) DO UPDATE
               SET sightings = d.sightings + excluded.sightings
            RETURNING narrative_id, day, source_kind, language, sightings
        )
        SELECT (SELECT count(*) FROM gone) AS folded,
               coalesce(json_agg(json_build_array(narrative_id, day, source_kind, language))
                        FILTER (WHERE sightings = 0), '[]') AS emptied
          FROM summed
        """
    ).fetchone()
    if row["emptied"]:
        ids, days, kinds, languages = (list(column) for column in zip(*row["emptied"], strict=True))
        conn.execute(
            """
            DELETE FROM narrative_days d
             USING unnest(%(ids)s::uuid[], %(days)s::timestamptz[], %(kinds)s::text[],
                          %(languages)s::text[]) AS e (narrative_id, day, source_kind, language)
             WHERE d.narrative_id = e.narrative_id AND d.day = e.day
               AND d.source_kind = e.source_kind AND d.language = e.language
               AND d.sightings = 0
            """,
            {"ids": ids, "days": days, "kinds": kinds, "languages": languages},
        )
    return row["folded"]


def recount(conn: Connection) -> None:
    """Rebuild narrative_days from the sightings, for bulk loads that bypass the triggers (the
    benchmark's seed). The caller holds writers off (service/repo/stats.py `recount`)."""
    conn.execute("DELETE FROM narrative_day_deltas")
    conn.execute("DELETE FROM narrative_days")
    conn.execute(
        """
        INSERT INTO narrative_days (narrative_id, day, source_kind, language, sightings)
        SELECT narrative_id, date_trunc('day', observed_at, 'UTC'), source_kind,
               lower(language), count(*)
          FROM sightings
         WHERE status <> 'false_positive'
         GROUP BY 1, 2, 3, 4
        """
    )
