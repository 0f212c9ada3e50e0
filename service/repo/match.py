"""SQL for matching a text or a URL against the narratives' stored phrasings (migration 0010).
Functions take a connection first and never commit."""

import uuid
from typing import Any

from psycopg import Connection

# A lexeme that ANALYZE estimates to be in more phrases than this is dropped from the candidate
# search: it would pull in thousands of phrases and, being in so many, is no evidence anyway.
COMMON_PHRASES = 2000

# Candidates are the phrases of live narratives sharing a lexeme with the text, found through the
# GIN index on `terms`; `matched` is the lexemes they share. Lexemes too common to search are
# taken from pg_stats (most common elements, kept by ANALYZE) and returned so the scorer can give
# them no weight.
_PHRASE_HITS = """
WITH input AS (
    SELECT match_terms(match_config(%(language)s), %(text)s) AS terms
), common AS (
    SELECT coalesce(array_agg(m.term), '{}') AS terms
      FROM pg_stats s
      JOIN pg_class c ON c.oid = 'narrative_phrases'::regclass
     CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs)
           AS m (term, freq)
     WHERE s.schemaname = current_schema() AND s.tablename = 'narrative_phrases'
       AND s.attname = 'terms' AND m.freq * c.reltuples > %(common)s
       AND m.term = ANY ((SELECT terms FROM input)::text[])
), search AS (
    SELECT ARRAY(SELECT unnest(i.terms) EXCEPT SELECT unnest(c.terms)) AS terms
      FROM input i, common c
)
SELECT p.id AS phrase_id, p.narrative_id, p.kind, p.text, p.language, p.sighting_id,
       cardinality(p.terms) AS size,
       ARRAY(SELECT unnest(p.terms) INTERSECT SELECT unnest(i.terms)) AS matched,
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
        _PHRASE_HITS, {"text": text, "language": language, "common": COMMON_PHRASES}
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
