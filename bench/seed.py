"""The benchmark's data, made in SQL: 20 core narratives and 9,980 more in a catalogue
(bench/vocabulary.py: titles, aliases in Russian and Ukrainian, keywords, summaries), 1,000,000
sightings spread over a year (four in five on the core narratives, which the read paths ask
about), each with a quote in its language, 1,000 rebuttals linked to one or two core narratives
each (so every core narrative has a full first page of rebuttals), the phrasings matching reads,
and the monitor keys the sightings name.

Deterministic (setseed), one transaction, audit triggers off while it loads (the trail of a
million seeded rows is not what is measured) and back on before it commits. VACUUM (FREEZE,
ANALYZE) afterwards, so that no run pays for hint bits or guesses without statistics.
"""

import time

import psycopg

from bench import vocabulary
from service import db
from service.repo import match, phrases, stats
from service.web import auth

NARRATIVES = (
    "biolabs-in-ukraine",
    "nato-encirclement",
    "sanctions-backfire",
    "kyiv-regime-nazis",
    "staged-atrocities",
    "grain-deal-starves-africa",
    "dirty-bomb-plot",
    "foreign-mercenaries",
    "ukrainian-window",
    "aid-resold-on-black-market",
    "europe-freezes-without-gas",
    "referendums-were-legitimate",
    "plant-shelled-by-defenders",
    "polish-annexation-plan",
    "moldova-is-next",
    "baltic-russophobia",
    "stolen-elections",
    "vaccines-as-bioweapons",
    "refugee-crime-wave",
    "peace-talks-sabotaged",
)
CATALOGUE = 10_000  # narratives in all: the twenty above, and the catalogue's
MONITORS = 5
REBUTTALS = 1000

_NARRATIVES_SQL = """
INSERT INTO narratives (slug, title, summary, keywords, tags, created_by, updated_by)
SELECT s.slug, initcap(replace(s.slug, '-', ' ')),
       'Seeded for the benchmark: ' || replace(s.slug, '-', ' ') || '.',
       string_to_array(s.slug, '-'), ARRAY['bench', 'seeded'], 'bench-seed', 'bench-seed'
  FROM unnest(%(slugs)s::text[]) AS s (slug)
"""

# The catalogue: narratives 20..9,999 (bench/vocabulary.py), named by their index, each with a
# title of four anchor words, a summary, two keywords, and a Russian and a Ukrainian alias.
_CATALOGUE_SQL = """
WITH w AS (SELECT %(en)s::text[] AS en, %(ru)s::text[] AS ru, %(uk)s::text[] AS uk),
c AS (SELECT j, ARRAY(SELECT %(fillers)s + ((j + 1)::bigint * (7919 + 2 * t) * 104729 + t * 1299709) %% %(anchors)s FROM generate_series(0, 4) t)
                      AS a
             FROM generate_series(%(core)s, %(total)s - 1) AS j)
INSERT INTO narratives (slug, title, summary, keywords, tags, created_by, updated_by)
SELECT 'catalogue-' || lpad(j::text, 5, '0'),
       initcap(w.en[1 + a[1]] || ' ' || w.en[1 + a[2]] || ' ' || w.en[1 + a[3]] || ' '
               || w.en[1 + a[4]]),
       'Catalogue narrative ' || j || ': ' || array_to_string(ARRAY(
           SELECT w.en[1 + least(floor(exp(random() * ln(%(fillers)s)))::int - 1,
                                   %(fillers)s - 1)]
             FROM generate_series(1, 15 + j %% 2)), ' ')
           || ' ' || w.en[1 + a[5]] || ' ' || w.en[1 + a[1]] || '.',
       ARRAY[w.en[1 + a[2]], w.en[1 + a[4]]], ARRAY['bench', 'catalogue'],
       'bench-seed', 'bench-seed'
  FROM c, w
"""

_ALIASES_SQL = """
WITH w AS (SELECT %(en)s::text[] AS en, %(ru)s::text[] AS ru, %(uk)s::text[] AS uk),
c AS (SELECT id, substr(slug, 11)::int AS j FROM narratives WHERE slug LIKE 'catalogue-%%'),
a AS (SELECT id, ARRAY(SELECT %(fillers)s + ((j + 1)::bigint * (7919 + 2 * t) * 104729 + t * 1299709) %% %(anchors)s FROM generate_series(0, 4) t)
                 AS a
        FROM c)
INSERT INTO narrative_aliases (narrative_id, position, text, language)
SELECT id, 0, w.ru[1 + a[1]] || ' ' || w.ru[1 + a[2]] || ' ' || w.ru[1 + a[3]] || ' '
              || w.ru[1 + a[5]], 'ru'
  FROM a, w
 UNION ALL
SELECT id, 1, w.uk[1 + a[1]] || ' ' || w.uk[1 + a[3]] || ' ' || w.uk[1 + a[4]] || ' '
              || w.uk[1 + a[5]], 'uk'
  FROM a, w
"""

# One row per i: four in five to the twenty core narratives (i mod 20), the rest spread over
# the catalogue; observed within the last year, a URL unique per row (a tenth carry a tracking
# parameter that normalisation drops), half with a monitor's own id. The quote is in the row's
# language (Russian, Ukrainian, or Latin script for the others): three of its narrative's anchor
# words among eight filler words (bench/vocabulary.py).
_SIGHTINGS_SQL = """
WITH w AS (SELECT %(en)s::text[] AS en, %(ru)s::text[] AS ru, %(uk)s::text[] AS uk),
n AS (SELECT id, (row_number() OVER (ORDER BY slug) - 1)::int AS k
             FROM narratives WHERE slug NOT LIKE 'catalogue-%%'
            UNION ALL
           SELECT id, substr(slug, 11)::int FROM narratives WHERE slug LIKE 'catalogue-%%'),
g AS (SELECT i, now() - random() * interval '365 days' AS at,
             random() AS r1, random() AS r2, random() AS r3,
             CASE WHEN %(total)s > %(core)s AND (i / 20) %% 5 = 4 THEN %(core)s + i %% (%(total)s - %(core)s)
                  ELSE i %% %(core)s END AS k,
             (ARRAY['ru', 'ru', 'ru', 'ru', 'en', 'uk', 'de', 'fr', 'es', 'sr'])[1 + (i / 3) %% 10]
                 AS language
        FROM generate_series(1, %(rows)s) AS i),
v AS (SELECT g.*, n.id AS narrative_id,
             'https://' || (ARRAY['ria.example', 'tass.example', 'rt.example', 't.me',
                                  'x.com', 'vk.example', 'sputnik.example', 'telegra.ph'])
                          [1 + i %% 8]
                 || '/' || to_char(at, 'YYYY/MM/DD') || '/' || i AS base_url,
             CASE g.language WHEN 'ru' THEN w.ru WHEN 'uk' THEN w.uk ELSE w.en END
                 AS words
        FROM g JOIN n ON n.k = g.k CROSS JOIN w)
INSERT INTO sightings (narrative_id, observed_at, url, url_normalized, source_name, source_kind,
                       actor_name, actor_role, quote, language, country, external_id,
                       confidence, status, reported_by, created_at, updated_at)
SELECT narrative_id, at,
       base_url || CASE WHEN i %% 10 = 0 THEN '?utm_source=telegram' ELSE '' END,
       base_url,
       (ARRAY['RIA Novosti', 'TASS', 'RT', 'Rybar', 'Readovka', 'SHOT', 'Sputnik',
              'Intel Slava Z'])[1 + i %% 8],
       (ARRAY['outlet', 'outlet', 'outlet', 'channel', 'channel', 'channel', 'outlet',
              'account'])[1 + i %% 8],
       CASE WHEN r1 < 0.3 THEN (ARRAY['Maria Zakharova', 'Dmitry Peskov', 'Sergei Lavrov',
                                      'Vasily Nebenzya', 'Margarita Simonyan'])[1 + i %% 5] END,
       CASE WHEN r1 < 0.3 THEN 'Official spokesperson' END,
       initcap(array_to_string(ARRAY(
           SELECT words[1 + CASE WHEN w IN (5, 6, 7)
                                 THEN %(fillers)s + ((k + 1)::bigint * (7919 + 2 * ((i + w) %% 5)) * 104729
                                                     + ((i + w) %% 5) * 1299709) %% %(anchors)s
                                 ELSE least(floor(exp(random() * ln(%(fillers)s)))::int - 1,
                                            %(fillers)s - 1) END]
             FROM generate_series(1, 11) AS w), ' ')) || '.',
       language,
       (ARRAY['RU', 'RU', 'RU', 'BY', 'RS', 'DE', 'FR', 'HU'])[1 + (i / 5) %% 8],
       CASE WHEN i %% 2 = 0 THEN 'feed-' || i END,
       round(r2::numeric, 2)::real,
       CASE WHEN r3 < 0.05 THEN 'false_positive' WHEN r3 < 0.2 THEN 'confirmed'
            ELSE 'unreviewed' END,
       'monitor-' || (i %% %(monitors)s),
       at + r2 * interval '6 hours', at + r2 * interval '6 hours'
  FROM v
"""

_REBUTTALS_SQL = """
INSERT INTO rebuttals (issuer_name, issuer_role, issuer_organization, issuer_country,
                       issuer_kind, verdict, statement, url, url_normalized, published_at,
                       language, reported_by, created_at, updated_at)
SELECT (ARRAY['Mykhailo Podolyak', 'Centre for Countering Disinformation', 'EUvsDisinfo',
              'StopFake', 'Ministry of Foreign Affairs'])[1 + i %% 5],
       CASE WHEN i %% 5 = 0 THEN 'Adviser to the Head of the Office of the President' END,
       (ARRAY['Office of the President', 'NSDC', 'EEAS', 'StopFake', 'MFA'])[1 + i %% 5],
       (ARRAY['UA', 'UA', NULL, 'UA', 'DE'])[1 + i %% 5],
       (ARRAY['government', 'government', 'international_org', 'fact_checker',
              'government'])[1 + i %% 5],
       (ARRAY['false', 'misleading', 'unsupported', 'disputed', 'undermined'])[1 + (i / 5) %% 5],
       'Statement ' || i || ': the claim is not supported by any evidence; '
           || 'the documents cited were fabricated or taken out of context.',
       'https://statements.example.org/' || i, 'https://statements.example.org/' || i,
       now() - random() * interval '365 days',
       (ARRAY['en', 'uk', 'en', 'ru', 'de'])[1 + i %% 5],
       'bench-seed', now(), now()
  FROM generate_series(1, %(rebuttals)s) AS i
"""

# Rebuttal i answers narrative i mod 20 and, for even i, a second one.
_LINKS_SQL = """
WITH n AS (SELECT id, (row_number() OVER (ORDER BY slug) - 1)::int AS k
             FROM narratives WHERE slug NOT LIKE 'catalogue-%%'),
r AS (SELECT id, published_at, (row_number() OVER (ORDER BY url))::int AS i FROM rebuttals)
INSERT INTO rebuttal_narratives (rebuttal_id, narrative_id, published_at)
SELECT r.id, n.id, r.published_at
  FROM r JOIN n ON n.k = r.i %% %(narratives)s
                OR (r.i %% 2 = 0 AND n.k = (r.i * 7 + 3) %% %(narratives)s)
ON CONFLICT DO NOTHING
"""

_TABLES = ("narratives", "sightings", "rebuttals", "narrative_aliases")

# The phrasings matching reads (migration 0010), built once the rows are in: the triggers that
# keep them were off. Quotes go straight in, set-wise, through the migration's own row builder.
_QUOTE_PHRASES_SQL = """
INSERT INTO narrative_phrases (narrative_id, kind, position, sighting_id, text, language, terms,
                               folded, lemmatized)
SELECT r.narrative_id, r.kind, r.position, r.sighting_id, r.text, r.language, r.terms,
       r.folded, r.lemmatized
  FROM sightings s
 CROSS JOIN LATERAL match_phrase_row(s.narrative_id, 'quote', 0, s.id, s.quote, s.language) r
 WHERE s.quote <> '' AND s.status <> 'false_positive'
   AND (cardinality(r.terms) > 0 OR NOT r.lemmatized)
"""

_ALIAS_PHRASES_SQL = """
SELECT match_insert_phrases(array_agg(
           match_phrase_row(a.narrative_id, 'alias', a.position, NULL, a.text, a.language)))
  FROM narrative_aliases a
"""


def seed(url: str, rows: int, catalogue: int = CATALOGUE) -> dict[str, float]:
    """Load the data into the (migrated, empty) database at `url`, with `catalogue` narratives
    in all (at least the twenty core ones); returns timings in seconds."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    with db.connect(url) as conn, conn.transaction():
        for table in _TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute("SELECT setseed(0.42)")
        params = {
            "slugs": list(NARRATIVES),
            "rows": rows,
            "narratives": len(NARRATIVES),
            "core": len(NARRATIVES),
            "total": max(catalogue, len(NARRATIVES)),
            "monitors": MONITORS,
            "rebuttals": REBUTTALS,
            "fillers": vocabulary.FILLERS,
            "anchors": vocabulary.WORDS - vocabulary.FILLERS,
            **{script: vocabulary.words(script) for script in vocabulary.SCRIPTS},
        }
        conn.execute(_NARRATIVES_SQL, params)
        conn.execute(_CATALOGUE_SQL, params)
        conn.execute(_ALIASES_SQL, params)
        conn.execute(_SIGHTINGS_SQL, params)
        # Their identities' claims, set-based (migration 0016), which the repo takes on writes.
        conn.execute("SELECT sighting_identities_backfill()")
        timings["sightings_s"] = time.monotonic() - started
        conn.execute(_REBUTTALS_SQL, params)
        conn.execute(_LINKS_SQL, params)
        for table in _TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        stats.recount(conn)  # the triggers that keep the sighting counts were off too
        conn.execute("SELECT match_rebuild_narratives(array_agg(id)) FROM narratives")
        conn.execute(_ALIAS_PHRASES_SQL)
        conn.execute(_QUOTE_PHRASES_SQL)
        phrases.lemmatize_pending(conn)
        timings["phrases_s"] = time.monotonic() - started - timings["sightings_s"]
        for i in range(MONITORS):
            auth.issue(conn, name=f"monitor-{i}", role="monitor", by="bench-seed")
    timings["load_s"] = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")
    with db.connect(url) as conn, conn.transaction():
        # What the worker counts for matching by the time a server reads (migration 0020).
        match.count_terms(conn)
    timings["total_s"] = time.monotonic() - started
    return timings


# The audit trail a busy service would have: one entry per ten sightings (the seed loads with its
# triggers off), each the whole row as the trigger records it. Only bench/sizes.py adds it: the
# main benchmark measures writes, and an audit list it does not ask for would only slow its copy.
_AUDIT_SQL = """
INSERT INTO audit_log (at, key_name, action, resource, record_id, after)
SELECT s.created_at, s.reported_by, 'create', 'sighting', s.id, to_jsonb(s)
  FROM sightings s
 WHERE get_byte(uuid_send(s.id), 15) < 26
 ORDER BY s.created_at
"""


def fill_audit(conn: psycopg.Connection) -> int:
    """Write the seeded audit trail; returns how many entries."""
    return conn.execute(_AUDIT_SQL).rowcount


def counts(url: str) -> dict[str, int]:
    """Rows per seeded table, for the report."""
    with db.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
            for table in (*_TABLES, "rebuttal_narratives")
        }
