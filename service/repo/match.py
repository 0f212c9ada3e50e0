"""SQL for matching a text or a URL against the narratives' stored phrasings (migration 0010).
Functions take a connection first and never commit."""

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from service.matching.scoring import LONG_PHRASE, MIN_COVERAGE

# Candidates are the phrases of live narratives sharing one of `search` (the text's lexemes
# specific enough to look up) with the text, found through the GIN index on `terms`; `matched` is
# every lexeme they share with the whole text (`terms`), `specific` those of `search`. `held`
# counts, for each matched lexeme, the narratives whose candidates hold it: the scorer's
# specificity (on one row only: it is the same for all). Only candidates that could reach MIN_COVERAGE come back: the scorer weighs the
# lexemes left out of `search` at 0, so a phrase's coverage is at most
# specific / (specific + missing), and below MIN_COVERAGE its strength (coverage^4) is negligible;
# thousands of such rows would cost more to send and score than the rest. The phrases' texts
# (summaries, quotes: long) stay behind; `texts` reads those shown.
_PHRASE_HITS = """
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


# The text's lexemes, the phrases estimated to hold those the last count saw, and what that count
# says of the others (migration 0020). One round trip, an index probe per lexeme.
_TERMS = """
SELECT t.terms,
       coalesce((SELECT json_object_agg(c.term, c.phrases)
                   FROM narrative_phrase_terms c
                  WHERE c.term = ANY (t.terms)), '{}') AS counts,
       (SELECT unseen FROM narrative_phrase_term_sample) AS unseen
  FROM (SELECT match_terms(match_config(%(language)s), %(text)s) AS terms) t
"""


@dataclass(frozen=True)
class Terms:
    terms: list[str]  # the text's distinct lexemes
    counts: dict[str, float]  # {lexeme: estimated phrases holding it}, for those counted
    unseen: float  # what a lexeme missing from `counts` is held by at most, about; 0: by none


def terms(conn: Connection, *, text: str, language: str) -> Terms:
    """The distinct lexemes of `text` (already lemmatised for Ukrainian) analysed in `language`
    ('en', 'ru', anything else language-neutral), as the phrases' terms are, with their counts."""
    row = conn.execute(_TERMS, {"text": text, "language": language}).fetchone()
    return Terms(row["terms"], row["counts"], row["unseen"])


# Enough phrases that a lexeme held by a few hundred of ten million is seen in the sample a few
# times. A recount reads about this many phrases, each on a page of its own: 2-3 s at ten million
# on the bench machine, which is why the worker recounts every half hour by default.
TERM_SAMPLE = 200_000


def count_terms(conn: Connection, *, sample: int = TERM_SAMPLE) -> int:
    """Recount the phrases holding each lexeme, from a sample of about `sample` phrases (all of
    them when there are no more); the lexemes kept. Gives up after a few seconds' wait for
    another recount, rather than holding a worker's round."""
    conn.execute("SET LOCAL lock_timeout = '5s'")
    return conn.execute(
        "SELECT match_count_terms(%(sample)s) AS kept", {"sample": sample}
    ).fetchone()["kept"]


def phrase_hits(conn: Connection, *, terms: list[str], search: list[str]) -> list[dict[str, Any]]:
    """Phrases holding one of `search`, each with the lexemes of `terms` it holds."""
    if not search:
        return []
    # Never prepared: a generic plan could not hash `= ANY` over the text's lexemes, and
    # comparing each candidate's lexemes with each of the text's costs ten times more.
    return conn.execute(
        _PHRASE_HITS,
        {"terms": terms, "search": search, "long": LONG_PHRASE, "coverage": MIN_COVERAGE},
        prepare=False,
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


def texts(conn: Connection, ids: list[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT id, text FROM narrative_phrases WHERE id = ANY(%(ids)s::bigint[])", {"ids": ids}
    ).fetchall()
    return {row["id"]: row["text"] for row in rows}


def briefs(conn: Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, slug, title FROM narratives WHERE id = ANY(%(ids)s::uuid[])", {"ids": ids}
    ).fetchall()
    return {row["id"]: row for row in rows}
