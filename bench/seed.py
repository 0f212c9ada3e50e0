"""The benchmark's data, made in SQL: 20 narratives, 1,000,000 sightings spread over a year and
over those narratives, 1,000 rebuttals linked to one or two narratives each (so every
narrative has a full first page of rebuttals), and the monitor keys the sightings name.

Deterministic (setseed), one transaction, audit triggers off while it loads (the trail of a
million seeded rows is not what is measured) and back on before it commits. VACUUM (FREEZE,
ANALYZE) afterwards, so that no run pays for hint bits or guesses without statistics.
"""

import time

import psycopg

from service import db
from service.repo import stats
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
MONITORS = 5
REBUTTALS = 1000

_NARRATIVES_SQL = """
INSERT INTO narratives (slug, title, summary, keywords, tags, created_by, updated_by)
SELECT s.slug, initcap(replace(s.slug, '-', ' ')),
       'Seeded for the benchmark: ' || replace(s.slug, '-', ' ') || '.',
       string_to_array(s.slug, '-'), ARRAY['bench', 'seeded'], 'bench-seed', 'bench-seed'
  FROM unnest(%(slugs)s::text[]) AS s (slug)
"""

# One row per i: narrative i mod 20, observed within the last year, a URL unique per row (a
# tenth carry a tracking parameter that normalisation drops), half with a monitor's own id.
_SIGHTINGS_SQL = """
WITH n AS (SELECT id, (row_number() OVER (ORDER BY slug) - 1)::int AS k FROM narratives),
g AS (SELECT i, now() - random() * interval '365 days' AS at,
             random() AS r1, random() AS r2, random() AS r3
        FROM generate_series(1, %(rows)s) AS i),
v AS (SELECT g.*, n.id AS narrative_id,
             'https://' || (ARRAY['ria.example', 'tass.example', 'rt.example', 't.me',
                                  'x.com', 'vk.example', 'sputnik.example', 'telegra.ph'])
                          [1 + i %% 8]
                 || '/' || to_char(at, 'YYYY/MM/DD') || '/' || i AS base_url
        FROM g JOIN n ON n.k = g.i %% %(narratives)s)
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
       (ARRAY['The West is hiding the truth about what happens in these laboratories.',
              'Everyone understands who is really behind this provocation.',
              'Sanctions have hurt Europe far more than they have hurt us.',
              'The regime in Kyiv is preparing another staged incident.',
              'Ordinary people there are paying for decisions made in Washington.',
              'This was planned long before; the evidence is plain for all to see.'])
           [1 + (i / 8) %% 6],
       (ARRAY['ru', 'ru', 'ru', 'ru', 'en', 'uk', 'de', 'fr', 'es', 'sr'])[1 + (i / 3) %% 10],
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
WITH n AS (SELECT id, (row_number() OVER (ORDER BY slug) - 1)::int AS k FROM narratives),
r AS (SELECT id, published_at, (row_number() OVER (ORDER BY url))::int AS i FROM rebuttals)
INSERT INTO rebuttal_narratives (rebuttal_id, narrative_id, published_at)
SELECT r.id, n.id, r.published_at
  FROM r JOIN n ON n.k = r.i %% %(narratives)s
                OR (r.i %% 2 = 0 AND n.k = (r.i * 7 + 3) %% %(narratives)s)
ON CONFLICT DO NOTHING
"""

_TABLES = ("narratives", "sightings", "rebuttals")


def seed(url: str, rows: int) -> dict[str, float]:
    """Load the data into the (migrated, empty) database at `url`; returns timings in seconds."""
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
            "monitors": MONITORS,
            "rebuttals": REBUTTALS,
        }
        conn.execute(_NARRATIVES_SQL, params)
        conn.execute(_SIGHTINGS_SQL, params)
        timings["sightings_s"] = time.monotonic() - started
        conn.execute(_REBUTTALS_SQL, params)
        conn.execute(_LINKS_SQL, params)
        for table in _TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        stats.recount(conn)  # the triggers that keep the sighting counts were off too
        for i in range(MONITORS):
            auth.issue(conn, name=f"monitor-{i}", role="monitor", by="bench-seed")
    timings["load_s"] = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")
    timings["total_s"] = time.monotonic() - started
    return timings


def counts(url: str) -> dict[str, int]:
    """Rows per seeded table, for the report."""
    with db.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
            for table in (*_TABLES, "rebuttal_narratives")
        }
