"""SQL for coverage statistics, and the fold of what ingest appends for them and for timelines.
Functions take a connection first and never commit.

False-positive sightings are never counted. A narrative's sighting count and its first and last
seen come from narrative_sighting_totals plus the deltas not yet folded into it (migrations
0013 and 0019), so ranking ten thousand narratives never reads their million sightings;
everything else is an index probe per narrative on (narrative_id, observed_at) WHERE status <>
'false_positive'. Timelines (service/repo/timeline.py) read narrative_days and its deltas
(migration 0022), which `fold` folds too.
"""

import uuid
from datetime import datetime
from typing import Any

from psycopg import Connection, sql

from service.repo import timeline

# The narratives a coverage request covers, each with its sightings (since `since` when given),
# its rebuttals (likewise) and its first rebuttal ever, which says whether it is rebutted at all.
_BASE = """
WITH chosen AS (
    SELECT n.id, n.slug, n.title
      FROM narratives n
     WHERE n.status <> 'archived' AND {tag}
),
counts AS ({counts}),
rebutted AS (
    SELECT narrative_id, min(published_at) AS first_rebuttal_at,
           count(*) FILTER (WHERE {rebuttal_since}) AS rebuttals
      FROM rebuttal_narratives
     GROUP BY narrative_id
),
base AS (
    SELECT n.id, n.slug, n.title, coalesce(c.sightings, 0)::bigint AS sightings,
           coalesce(r.rebuttals, 0)::bigint AS rebuttals, r.first_rebuttal_at
      FROM chosen n
      LEFT JOIN counts c ON c.narrative_id = n.id
      LEFT JOIN rebutted r ON r.narrative_id = n.id
)"""

# All-time counts: the folded totals plus the deltas not yet folded.
_KEPT_COUNTS = """
    SELECT c.narrative_id, sum(c.sightings) AS sightings
      FROM (SELECT narrative_id, sightings FROM narrative_sighting_totals
            UNION ALL
            SELECT narrative_id, delta FROM narrative_sighting_deltas) c
     GROUP BY c.narrative_id"""

# Counts since an instant: an index-only range scan per narrative.
_COUNTS_SINCE = """
    SELECT n.id AS narrative_id, s.sightings
      FROM chosen n
     CROSS JOIN LATERAL (
           SELECT count(*) AS sightings
             FROM sightings s
            WHERE s.narrative_id = n.id AND s.status <> 'false_positive'
              AND s.observed_at >= %(since)s) s"""

# The first sighting ever (for every row, or with `gate` only for rebutted narratives) and the
# sightings in the week either side of the first rebuttal: index probes the planner skips when
# their condition on the outer row is false.
_DETAILS = """
  LEFT JOIN LATERAL (
        SELECT min(s.observed_at) AS first_seen_at
          FROM sightings s
         WHERE s.narrative_id = {row}.id AND s.status <> 'false_positive'
           AND {gate}) f ON true
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.observed_at < {row}.first_rebuttal_at) AS before_7d,
               count(*) FILTER (WHERE s.observed_at >= {row}.first_rebuttal_at) AS after_7d
          FROM sightings s
         WHERE s.narrative_id = {row}.id AND s.status <> 'false_positive'
           AND {row}.first_rebuttal_at IS NOT NULL
           AND s.observed_at >= {row}.first_rebuttal_at - interval '168 hours'
           AND s.observed_at < {row}.first_rebuttal_at + interval '168 hours') w ON true"""

_LATENCY = "floor(extract(epoch FROM {row}.first_rebuttal_at - f.first_seen_at))::bigint"

# Each sort as (k1, k2): rows come in (k1, k2, id) order, all ascending, so that one row
# comparison continues a page. k2 is negated for "most first".
SORTS = {
    "unrebutted_first": ("(b.first_rebuttal_at IS NOT NULL)::int", "-b.sightings"),
    "sightings": ("0", "-b.sightings"),
    "latency": (
        f"({_LATENCY.format(row='b')} IS NULL)::int",
        f"-coalesce({_LATENCY.format(row='b')}, 0)",
    ),
}

_PAGE = """{base},
ranked AS (
    SELECT b.*, {k1} AS k1, {k2} AS k2
      FROM base b {details}
),
page AS (
    SELECT * FROM ranked WHERE {after} ORDER BY k1, k2, id LIMIT %(n)s
)
SELECT p.id, p.slug, p.title, p.sightings, p.rebuttals, p.first_rebuttal_at, p.k1, p.k2,
       f.first_seen_at, {latency} AS latency_seconds, w.before_7d, w.after_7d
  FROM page p {page_details}
 ORDER BY p.k1, p.k2, p.id
"""

_OVERALL = """{base}
SELECT count(*) AS narratives,
       count(*) FILTER (WHERE b.first_rebuttal_at IS NOT NULL) AS rebutted,
       coalesce(sum(b.sightings), 0)::bigint AS sightings,
       coalesce(sum(b.sightings) FILTER (WHERE b.first_rebuttal_at IS NULL), 0)::bigint
           AS sightings_unrebutted,
       (SELECT count(DISTINCT k.rebuttal_id)
          FROM rebuttal_narratives k
          JOIN chosen c ON c.id = k.narrative_id
         WHERE {rebuttal_since}) AS rebuttals,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {latency}) AS median_latency_seconds,
       sum(w.before_7d)::bigint AS before_7d, sum(w.after_7d)::bigint AS after_7d
  FROM base b {details}
"""


def _details(row: str, *, gated: bool) -> sql.SQL:
    gate = f"{row}.first_rebuttal_at IS NOT NULL" if gated else "true"
    return sql.SQL(_DETAILS.format(row=row, gate=gate))


def _base(since: datetime | None, tag: str | None) -> sql.Composed:
    return sql.SQL(_BASE).format(
        tag=sql.SQL("n.tags @> ARRAY[%(tag)s]::text[]" if tag else "true"),
        counts=sql.SQL(_COUNTS_SINCE if since else _KEPT_COUNTS),
        rebuttal_since=sql.SQL("published_at >= %(since)s" if since else "true"),
    )


def coverage_page(
    conn: Connection,
    *,
    sort: str,
    limit: int,
    after: tuple[int, int, uuid.UUID] | None = None,
    since: datetime | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """Narratives in `sort` order (SORTS), up to limit + 1 rows so the caller can tell if another
    page exists; each row carries its sort key (k1, k2, id) for the next cursor."""
    k1, k2 = SORTS[sort]
    query = sql.SQL(_PAGE).format(
        base=_base(since, tag),
        k1=sql.SQL(k1),
        k2=sql.SQL(k2),
        details=_details("b", gated=True) if sort == "latency" else sql.SQL(""),
        after=sql.SQL("(k1, k2, id) > (%(k1)s, %(k2)s, %(after_id)s)" if after else "true"),
        latency=sql.SQL(_LATENCY.format(row="p")),
        page_details=_details("p", gated=False),
    )
    params = {
        "since": since,
        "tag": tag,
        "k1": after[0] if after else None,
        "k2": after[1] if after else None,
        "after_id": after[2] if after else None,
        "n": limit + 1,
    }
    return conn.execute(query, params).fetchall()


def coverage_overall(
    conn: Connection, *, since: datetime | None = None, tag: str | None = None
) -> dict[str, Any]:
    """The same figures over every narrative the request covers."""
    query = sql.SQL(_OVERALL).format(
        base=_base(since, tag),
        rebuttal_since=sql.SQL("k.published_at >= %(since)s" if since else "true"),
        latency=sql.SQL(_LATENCY.format(row="b")),
        details=_details("b", gated=True),
    )
    return conn.execute(query, {"since": since, "tag": tag}).fetchone()


def fold(conn: Connection) -> int:
    """Fold the deltas committed so far into the totals; returns how many were folded.

    Deltas committed meanwhile stay for the next round: DELETE takes only the rows its snapshot
    sees, and the readers' figures (totals + deltas) are the same before and after. Counts add
    up; first and last seen fold with least and greatest, except for the narratives a folded
    delta marked seen_stale, which are recomputed from the index by the second statement. Its
    snapshot is later than the first's (READ COMMITTED), which is safe: a delta committed in
    between and left for the next round is an addition the recompute already saw (least and
    greatest of it change nothing) or a removal whose mark sends readers to the index until the
    next round recomputes again. Two folds at once are serialised by the totals rows the first
    statement locks until commit."""
    row = conn.execute(
        """
        WITH gone AS (
            DELETE FROM narrative_sighting_deltas
            RETURNING narrative_id, delta, first_seen_at, last_seen_at, seen_stale
        ),
        summed AS (
            INSERT INTO narrative_sighting_totals AS t
                   (narrative_id, sightings, first_seen_at, last_seen_at)
            SELECT narrative_id, sum(delta), min(first_seen_at), max(last_seen_at)
              FROM gone
             GROUP BY narrative_id
            ON CONFLICT (narrative_id) DO UPDATE
               SET sightings = t.sightings + excluded.sightings,
                   first_seen_at = least(t.first_seen_at, excluded.first_seen_at),
                   last_seen_at = greatest(t.last_seen_at, excluded.last_seen_at)
        )
        SELECT count(*) AS folded,
               coalesce(array_agg(DISTINCT narrative_id) FILTER (WHERE seen_stale), '{}') AS stale
          FROM gone
        """
    ).fetchone()
    if row["stale"]:
        conn.execute(
            """
            UPDATE narrative_sighting_totals t
               SET first_seen_at = (SELECT min(s.observed_at) FROM sightings s
                                     WHERE s.narrative_id = t.narrative_id
                                       AND s.status <> 'false_positive'),
                   last_seen_at = (SELECT max(s.observed_at) FROM sightings s
                                    WHERE s.narrative_id = t.narrative_id
                                      AND s.status <> 'false_positive')
             WHERE t.narrative_id = ANY(%(ids)s)
            """,
            {"ids": row["stale"]},
        )
    return row["folded"]


def recount(conn: Connection) -> None:
    """Rebuild the totals and the timelines' day rollup from the sightings, for bulk loads that
    bypass the triggers (the benchmark's seed). Takes a lock that holds writers off until the
    transaction ends."""
    conn.execute("LOCK TABLE sightings IN SHARE MODE")
    conn.execute("DELETE FROM narrative_sighting_deltas")
    conn.execute("DELETE FROM narrative_sighting_totals")
    conn.execute(
        """
        INSERT INTO narrative_sighting_totals (narrative_id, sightings, first_seen_at, last_seen_at)
        SELECT narrative_id, count(*), min(observed_at), max(observed_at)
          FROM sightings WHERE status <> 'false_positive'
         GROUP BY narrative_id
        """
    )
    # After the totals: a transaction folding both kinds of delta takes them in this order too,
    # so that it and a recount cannot deadlock.
    timeline.recount(conn)
