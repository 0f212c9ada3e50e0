"""SQL for matching a text or a URL against the narratives' stored phrasings (migration 0010).
Functions take a connection first and never commit."""

import uuid
from typing import Any

from psycopg import Connection

# How many candidate phrases a text may pull in, as estimated from the statistics that ANALYZE
# keeps on `terms` (pg_stats' most common elements and their frequencies). The text's lexemes are
# searched rarest first until their estimated phrases reach this budget; the commoner ones left
# over still count when a candidate holds them, but find no candidates themselves. This is the
# search engines' pruning of low-IDF terms: a phrase made only of words that thousands of phrases
# share is weak evidence, and looking at all of them would cost a scan. Lexemes the statistics do
# not track are rarer than every tracked one and are always searched.
CANDIDATE_BUDGET = 2000

# Candidates are the phrases of live narratives sharing a searched lexeme with the text, found
# through the GIN index on `terms`; `matched` is every lexeme they share with the text. `common`
# (the lexemes left unsearched) goes back to the scorer, which gives them no weight.
_PHRASE_HITS = """
WITH input AS (
    SELECT match_terms(match_config(%(language)s), %(text)s) AS terms
), tracked AS (
    SELECT m.term, m.freq * greatest(c.reltuples, 0) AS phrases
      FROM pg_stats s
      JOIN pg_class c ON c.oid = 'narrative_phrases'::regclass
     CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs)
           AS m (term, freq)
     WHERE s.schemaname = current_schema() AND s.tablename = 'narrative_phrases'
       AND s.attname = 'terms' AND m.term = ANY ((SELECT terms FROM input)::text[])
), ranked AS (
    SELECT t.term, t.phrases,
           sum(t.phrases) OVER (ORDER BY t.phrases, t.term) AS running
      FROM tracked t
), common AS (
    SELECT coalesce(array_agg(term), '{}') AS terms
      FROM ranked WHERE running > %(budget)s
), search AS (
    SELECT ARRAY(SELECT unnest(i.terms) EXCEPT SELECT unnest(c.terms)) AS terms
      FROM input i, common c
)
SELECT p.id AS phrase_id, p.narrative_id, p.kind, p.text, p.language, p.sighting_id,
       cardinality(p.terms) AS size,
       ARRAY(SELECT t FROM unnest(p.terms) AS t WHERE t = ANY (i.terms)) AS matched,
       NULL::real AS similarity, NULL::json AS terms_held,
       (SELECT terms FROM common) AS common
  FROM narrative_phrases p
  JOIN narratives n ON n.id = p.narrative_id AND n.status <> 'archived'
 CROSS JOIN input i
 WHERE p.terms && (SELECT terms FROM search)
"""

# Short texts (a headline, a search-box phrase) are also compared by trigrams with the short
# phrases, which forgives misspellings and forms the stemmer does not join.
_FUZZY_HITS = """
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


def phrase_hits(conn: Connection, *, text: str, language: str) -> list[dict[str, Any]]:
    """Phrases sharing lexemes with `text` (already lemmatised for Ukrainian), analysed in
    `language` ('en', 'ru', anything else language-neutral). Each row carries `common`, the
    text's lexemes too frequent to have been searched."""
    return conn.execute(
        _PHRASE_HITS, {"text": text, "language": language, "budget": CANDIDATE_BUDGET}
    ).fetchall()


def fuzzy_hits(conn: Connection, *, text: str, threshold: float) -> list[dict[str, Any]]:
    """Short phrases whose trigram similarity to `text` is at least `threshold`."""
    return conn.execute(_FUZZY_HITS, {"text": text, "threshold": threshold}).fetchall()


def live_narratives(conn: Connection) -> int:
    """How many narratives can match: the population the specificity of a lexeme is taken in."""
    return conn.execute(
        "SELECT count(*) AS n FROM narratives WHERE status <> 'archived'"
    ).fetchone()["n"]


def url_hits(conn: Connection, *, url_normalized: str) -> list[dict[str, Any]]:
    """Sightings of live narratives recorded at this normalised URL, false positives excluded."""
    return conn.execute(
        """
        SELECT s.id AS sighting_id, s.narrative_id, s.url, s.language
          FROM sightings s
          JOIN narratives n ON n.id = s.narrative_id AND n.status <> 'archived'
         WHERE s.url_normalized = %(url)s AND s.status <> 'false_positive'
         ORDER BY s.observed_at DESC, s.id DESC
        """,
        {"url": url_normalized},
    ).fetchall()


def briefs(conn: Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, slug, title FROM narratives WHERE id = ANY(%(ids)s::uuid[])", {"ids": ids}
    ).fetchall()
    return {row["id"]: row for row in rows}
