"""SQL for timelines and coverage statistics. Functions take a connection first and never commit.

False-positive sightings are never counted. A narrative's sighting count and its first and last
seen come from narrative_sighting_totals plus the deltas not yet folded into it (migrations
0013 and 0019), so ranking ten thousand narratives never reads their million sightings;
everything else is an index probe per narrative on (narrative_id, observed_at) WHERE status <>
'false_positive'.
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


# Every bucket of the range from generate_series (so empty ones are present, with zeros); for
# each, an index range scan of the narrative's sightings counted by source kind and language
# (a few hundred rows per group, hashed in memory, where one GROUP BY over the whole range would
# sort it all: the planner cannot estimate how many buckets there are). That small result is
# then rolled up by kind and by language. Steps have fixed lengths: see STEPS.
_BUCKETS = """
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
counted AS (
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
"""


def buckets(
    conn: Connection, narrative_id: uuid.UUID, *, unit: str, lo: datetime, hi: datetime
) -> list[dict[str, Any]]:
    """Every `unit` bucket starting in [lo, hi) (both on bucket boundaries), oldest first, with
    its sightings in total, by source kind and by language (languages lower-cased)."""
    params = {"id": narrative_id, "lo": lo, "hi": hi, "step": STEPS[unit]}
    return conn.execute(_BUCKETS, params).fetchall()


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
    """Rebuild the totals from the sightings, for bulk loads that bypass the triggers (the
    benchmark's seed). Takes a lock that holds writers off until the transaction ends."""
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
