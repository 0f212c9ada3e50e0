"""The statements the service sends for POST /v1/match, copied from service/repo/match.py (one
constant per repo function, in its order), for the bare app and the peer (bench/match_flow.py)
to send verbatim, and the statement that reads the matches' rebuttals (service/repo/rebuttals.py
`latest_for`). `sql_drift.drift()` holds them equal to the service's: when the matcher's SQL
changes, copy the new text here (and the flow's parameters, if they changed, into
bench/match_flow.py)."""

from bench.bare_sql import REBUTTAL

TERMS = """
SELECT t.terms,
       coalesce((SELECT json_object_agg(c.term, c.phrases)
                   FROM narrative_phrase_terms c
                  WHERE c.term = ANY (t.terms)), '{}') AS counts,
       (SELECT unseen FROM narrative_phrase_term_sample) AS unseen
  FROM (SELECT match_terms(match_config(%(language)s), %(text)s) AS terms) t
"""

# Sent unprepared (prepare=False), as the service sends it.
PHRASE_HITS = """
WITH candidates AS MATERIALIZED (
    SELECT p.id, p.narrative_id, p.kind, p.language, p.sighting_id,
           cardinality(p.terms) AS size,
           ARRAY(SELECT t FROM unnest(p.terms) AS t WHERE t = ANY (%(terms)s::text[])) AS matched,
           cardinality(ARRAY(SELECT t FROM unnest(p.terms) AS t
                              WHERE t = ANY (%(search)s::text[]))) AS specific
      FROM narrative_phrases p
     WHERE p.terms && %(search)s::text[]
       AND NOT EXISTS (SELECT 1 FROM narratives n
                        WHERE n.id = p.narrative_id AND n.status = 'archived')
), held AS (
    SELECT json_object_agg(term, narratives) AS held
      FROM (SELECT t AS term, count(DISTINCT c.narrative_id) AS narratives
              FROM candidates c, unnest(c.matched) AS t
             GROUP BY t) h
)
SELECT c.id AS phrase_id, c.narrative_id, c.kind, NULL AS text, c.language, c.sighting_id,
       c.size, c.matched, NULL::real AS similarity, NULL::json AS terms_held,
       CASE WHEN row_number() OVER () = 1 THEN h.held END AS held
  FROM candidates c, held h,
       LATERAL (SELECT CASE WHEN c.kind IN ('summary', 'quote')
                            THEN least(c.size - cardinality(c.matched),
                                       greatest(%(long)s - cardinality(c.matched), 0))
                            ELSE c.size - cardinality(c.matched) END AS missing) m
 WHERE c.specific >= %(coverage)s * (c.specific + missing)
"""

FUZZY_HITS = """
WITH input AS (SELECT lower(unaccent(%(text)s)) AS folded)
SELECT p.id AS phrase_id, p.narrative_id, p.kind, p.text, p.language, p.sighting_id,
       cardinality(p.terms) AS size, '{}'::text[] AS matched,
       similarity(p.folded, i.folded) AS similarity,
       (SELECT json_object_agg(t.term, (SELECT count(DISTINCT q.narrative_id)
                                          FROM narrative_phrases q
                                         WHERE q.terms @> ARRAY[t.term]))
          FROM unnest(p.terms) AS t (term)) AS terms_held
  FROM narrative_phrases p
  JOIN narratives n ON n.id = p.narrative_id AND n.status <> 'archived'
 CROSS JOIN input i
 WHERE p.folded IS NOT NULL AND p.folded %% i.folded
   AND similarity(p.folded, i.folded) >= %(threshold)s
 ORDER BY similarity DESC, p.id
 LIMIT 50
"""

LIVE_NARRATIVES = "SELECT count(*) AS n FROM narratives WHERE status <> 'archived'"

URL_HITS = """
        SELECT s.id AS sighting_id, s.narrative_id, s.url, s.language
          FROM sightings s
          JOIN narratives n ON n.id = s.narrative_id AND n.status <> 'archived'
         WHERE s.url_normalized = %(url)s AND s.status <> 'false_positive'
         ORDER BY s.observed_at DESC, s.id DESC
        """

TEXTS = "SELECT id, text FROM narrative_phrases WHERE id = ANY(%(ids)s::bigint[])"

BRIEFS = "SELECT id, slug, title FROM narratives WHERE id = ANY(%(ids)s::uuid[])"

# service/repo/rebuttals.py `latest_for`: the newest rebuttals of each match, in one statement.
LATEST_REBUTTALS = f"""
SELECT x.*, l.narrative_id AS for_narrative
  FROM unnest(%(ids)s::uuid[]) AS l (narrative_id)
 CROSS JOIN LATERAL ({REBUTTAL}
  JOIN rebuttal_narratives k ON k.rebuttal_id = r.id AND k.narrative_id = l.narrative_id
 ORDER BY k.published_at DESC, k.rebuttal_id DESC
 LIMIT %(n)s) x
"""
