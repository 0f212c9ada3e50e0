"""The statements the service sends on the measured paths, copied from service/repo/*.py as the
service composes them, for the bare app (bench/bare_app.py) and the peer (bench/peer_app.py) to
send verbatim.

bench/sql_drift.py holds these copies equal to what the service sends, so a change to the
service's SQL stops the benchmark (update the copy) instead of silently comparing the service
with different SQL.
"""

RESOLVE_MANY = """
        SELECT r.ref, n.id, n.slug, n.status
          FROM unnest(%(refs)b::text[], %(ids)b::uuid[], %(slugs)b::text[]) AS r (ref, id, slug)
          JOIN narratives n ON n.id = r.id OR n.slug = r.slug
           FOR SHARE OF n
        """

# The key check on a cache miss (the peer app's; the bare app checks no key).
AUTHENTICATE = """
        WITH found AS (
            SELECT id, name, role, last_used_at
              FROM api_keys
             WHERE key_hash = %(key_hash)s AND revoked_at IS NULL
        ), stamped AS (
            UPDATE api_keys k SET last_used_at = clock_timestamp()
              FROM found f
             WHERE k.id = f.id
               AND (f.last_used_at IS NULL OR f.last_used_at < now() - interval '1 minute')
        )
        SELECT id, name, role FROM found
        """

RESOLVE = "SELECT id, slug, status FROM narratives n WHERE id = %(id)s OR slug = %(slug)s"

# Before the INSERT: the items' identities (service/repo/identities.py `of`), claimed in
# one statement; the benchmark's items are all new, so every claim is taken.
CLAIM = """
INSERT INTO sighting_identities (identity, sighting_id)
SELECT c.identity, c.sighting_id
  FROM unnest(%(identity)b::uuid[], %(sighting_id)b::uuid[]) AS c (identity, sighting_id)
 ORDER BY c.identity
ON CONFLICT DO NOTHING
"""

INSERT_MANY = """
INSERT INTO sightings (id, narrative_id, observed_at, url, url_normalized, source_name,
                       source_kind, actor_name, actor_role, quote, language, country,
                       external_id, confidence, reported_in_url, reported_in_name, content_key,
                       reported_by)
SELECT t.id, t.narrative_id, t.observed_at, t.url, t.url_normalized, t.source_name,
       t.source_kind, t.actor_name, t.actor_role, t.quote, t.language, t.country,
       t.external_id, t.confidence, t.reported_in_url, t.reported_in_name, t.content_key, %(by)s
  FROM unnest(%(id)b::uuid[], %(narrative_id)b::uuid[], %(observed_at)b::timestamptz[],
              %(url)b::text[], %(url_normalized)b::text[], %(source_name)b::text[],
              %(source_kind)b::text[], %(actor_name)b::text[], %(actor_role)b::text[],
              %(quote)b::text[], %(language)b::text[], %(country)b::text[],
              %(external_id)b::text[], %(confidence)b::real[], %(reported_in_url)b::text[],
              %(reported_in_name)b::text[], %(content_key)b::text[])
       AS t (id, narrative_id, observed_at, url, url_normalized, source_name, source_kind,
             actor_name, actor_role, quote, language, country, external_id, confidence,
             reported_in_url, reported_in_name, content_key)
"""

_SIGHTING = """
SELECT s.id, s.observed_at, s.url, s.url_normalized, s.quote, s.language, s.country,
       s.external_id, s.confidence, s.status, s.reported_by, s.updated_by, s.created_at,
       s.updated_at,
       (SELECT to_json(o) FROM (SELECT n.id, n.slug, n.title) o) AS narrative,
       (SELECT to_json(o) FROM (SELECT s.source_name AS name, s.source_kind AS kind) o) AS source,
       CASE WHEN s.actor_name IS NULL THEN NULL
            ELSE (SELECT to_json(o) FROM (SELECT s.actor_name AS name, s.actor_role AS role) o)
       END AS actor,
       CASE WHEN s.reported_in_name IS NULL THEN NULL
            ELSE (SELECT to_json(o)
                    FROM (SELECT s.reported_in_url AS url, s.reported_in_name AS name) o)
       END AS reported_in
  FROM sightings s
  JOIN narratives n ON n.id = s.narrative_id
"""

GET_SIGHTING = _SIGHTING + " WHERE s.id = %(id)s"

SIGHTINGS_PAGE = _SIGHTING + " WHERE true ORDER BY s.observed_at DESC, s.id DESC LIMIT %(n)s"

# service/repo/rebuttals.py's _SELECT: a rebuttal with its issuer and narratives (also the
# match's LATEST_REBUTTALS, bench/match_sql.py).
REBUTTAL = """
SELECT r.id, r.verdict, r.statement, r.url, r.published_at, r.language, r.reported_by,
       r.updated_by,
       r.created_at, r.updated_at,
       (SELECT to_json(o)
          FROM (SELECT r.issuer_name AS name, r.issuer_role AS role,
                       r.issuer_organization AS organization, r.issuer_country AS country,
                       r.issuer_kind AS kind) o) AS issuer,
       (SELECT coalesce(to_json(array_agg(o ORDER BY o.slug)), '[]'::json)
          FROM (SELECT n.id, n.slug, n.title
                  FROM rebuttal_narratives l JOIN narratives n ON n.id = l.narrative_id
                 WHERE l.rebuttal_id = r.id) o) AS narratives
  FROM rebuttals r
"""

NARRATIVE_REBUTTALS_PAGE = (
    REBUTTAL
    + " JOIN rebuttal_narratives k ON k.rebuttal_id = r.id AND k.narrative_id = %(narrative_id)s"
    " WHERE true ORDER BY k.published_at DESC, k.rebuttal_id DESC LIMIT %(n)s"
)


# The timeline (GET /v1/narratives/{slug}/timeline?interval=day, its default range): RESOLVE,
# then these three.

TIMELINE_SPAN = """
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
"""

# Days and weeks (the bench asks for days) read the rollup; hours count the sightings. Both end
# with the same roll-up by kind and language.
_TIMELINE_ROLLUP = """counted AS (
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

TIMELINE_BUCKETS = (
    """
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
"""
    + _TIMELINE_ROLLUP
)

TIMELINE_HOUR_BUCKETS = (
    """
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
"""
    + _TIMELINE_ROLLUP
)

TIMELINE_REBUTTALS = """
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

# Coverage (GET /v1/stats/coverage?limit=50: the default sort, no filters, first page).

COVERAGE_PAGE = """
WITH chosen AS (
    SELECT n.id, n.slug, n.title
      FROM narratives n
     WHERE n.status <> 'archived' AND true
),
counts AS (
    SELECT c.narrative_id, sum(c.sightings) AS sightings
      FROM (SELECT narrative_id, sightings FROM narrative_sighting_totals
            UNION ALL
            SELECT narrative_id, delta FROM narrative_sighting_deltas) c
     GROUP BY c.narrative_id),
rebutted AS (
    SELECT narrative_id, min(published_at) AS first_rebuttal_at,
           count(*) FILTER (WHERE true) AS rebuttals
      FROM rebuttal_narratives
     GROUP BY narrative_id
),
base AS (
    SELECT n.id, n.slug, n.title, coalesce(c.sightings, 0)::bigint AS sightings,
           coalesce(r.rebuttals, 0)::bigint AS rebuttals, r.first_rebuttal_at
      FROM chosen n
      LEFT JOIN counts c ON c.narrative_id = n.id
      LEFT JOIN rebutted r ON r.narrative_id = n.id
),
ranked AS (
    SELECT b.*, (b.first_rebuttal_at IS NOT NULL)::int AS k1, -b.sightings AS k2
      FROM base b
),
page AS (
    SELECT * FROM ranked WHERE true ORDER BY k1, k2, id LIMIT %(n)s
)
SELECT p.id, p.slug, p.title, p.sightings, p.rebuttals, p.first_rebuttal_at, p.k1, p.k2,
       f.first_seen_at, floor(extract(epoch FROM p.first_rebuttal_at - f.first_seen_at))::bigint AS latency_seconds, w.before_7d, w.after_7d
  FROM page p
  LEFT JOIN LATERAL (
        SELECT min(s.observed_at) AS first_seen_at
          FROM sightings s
         WHERE s.narrative_id = p.id AND s.status <> 'false_positive'
           AND true) f ON true
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.observed_at < p.first_rebuttal_at) AS before_7d,
               count(*) FILTER (WHERE s.observed_at >= p.first_rebuttal_at) AS after_7d
          FROM sightings s
         WHERE s.narrative_id = p.id AND s.status <> 'false_positive'
           AND p.first_rebuttal_at IS NOT NULL
           AND s.observed_at >= p.first_rebuttal_at - interval '168 hours'
           AND s.observed_at < p.first_rebuttal_at + interval '168 hours') w ON true
 ORDER BY p.k1, p.k2, p.id
"""

COVERAGE_OVERALL = """
WITH chosen AS (
    SELECT n.id, n.slug, n.title
      FROM narratives n
     WHERE n.status <> 'archived' AND true
),
counts AS (
    SELECT c.narrative_id, sum(c.sightings) AS sightings
      FROM (SELECT narrative_id, sightings FROM narrative_sighting_totals
            UNION ALL
            SELECT narrative_id, delta FROM narrative_sighting_deltas) c
     GROUP BY c.narrative_id),
rebutted AS (
    SELECT narrative_id, min(published_at) AS first_rebuttal_at,
           count(*) FILTER (WHERE true) AS rebuttals
      FROM rebuttal_narratives
     GROUP BY narrative_id
),
base AS (
    SELECT n.id, n.slug, n.title, coalesce(c.sightings, 0)::bigint AS sightings,
           coalesce(r.rebuttals, 0)::bigint AS rebuttals, r.first_rebuttal_at
      FROM chosen n
      LEFT JOIN counts c ON c.narrative_id = n.id
      LEFT JOIN rebutted r ON r.narrative_id = n.id
)
SELECT count(*) AS narratives,
       count(*) FILTER (WHERE b.first_rebuttal_at IS NOT NULL) AS rebutted,
       coalesce(sum(b.sightings), 0)::bigint AS sightings,
       coalesce(sum(b.sightings) FILTER (WHERE b.first_rebuttal_at IS NULL), 0)::bigint
           AS sightings_unrebutted,
       (SELECT count(DISTINCT k.rebuttal_id)
          FROM rebuttal_narratives k
          JOIN chosen c ON c.id = k.narrative_id
         WHERE true) AS rebuttals,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY floor(extract(epoch FROM b.first_rebuttal_at - f.first_seen_at))::bigint) AS median_latency_seconds,
       sum(w.before_7d)::bigint AS before_7d, sum(w.after_7d)::bigint AS after_7d
  FROM base b
  LEFT JOIN LATERAL (
        SELECT min(s.observed_at) AS first_seen_at
          FROM sightings s
         WHERE s.narrative_id = b.id AND s.status <> 'false_positive'
           AND b.first_rebuttal_at IS NOT NULL) f ON true
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.observed_at < b.first_rebuttal_at) AS before_7d,
               count(*) FILTER (WHERE s.observed_at >= b.first_rebuttal_at) AS after_7d
          FROM sightings s
         WHERE s.narrative_id = b.id AND s.status <> 'false_positive'
           AND b.first_rebuttal_at IS NOT NULL
           AND s.observed_at >= b.first_rebuttal_at - interval '168 hours'
           AND s.observed_at < b.first_rebuttal_at + interval '168 hours') w ON true
"""
