-- How many phrases hold each lexeme, estimated from a sample: what the matcher prunes by
-- (service/matching/pruning.py), in place of the statistics ANALYZE keeps.
--
-- The matcher looks a text's lexemes up rarest first until the phrases they pull in reach a
-- budget. ANALYZE's statistics track at most ten thousand lexemes (most_common_elems, at the
-- column's statistics target of 1000), above a frequency cutoff: at ten million sightings a
-- narrative's own words, held by a few hundred phrases each, fell below it, were taken for rare,
-- always looked up, and the candidates grew with the data. This table counts every lexeme of a
-- sample of phrases (all of them when there are few), so a lexeme missing from it is held by
-- fewer phrases than two in the sample stand for.
--
-- The worker refreshes it (service/jobs/matching.py); this migration fills it once, so a server
-- never matches without it. Nothing writes it on the ingest path: counts lag new phrases by the
-- refresh interval, which moves a pruning threshold, never a match's correctness.

CREATE TABLE narrative_phrase_terms (
    term    text PRIMARY KEY,
    phrases real NOT NULL  -- estimated phrases holding the lexeme
);

-- Replaces the counts with those of a fresh sample of about `p_sample` phrases (a SYSTEM sample:
-- whole pages, read without a full scan), scaled to the table's size; every phrase when the
-- table holds fewer, and then the counts are exact. In a sample, lexemes seen once are left
-- out: their estimate is noise, and a missing lexeme counts as rare. Returns the lexemes kept.
CREATE FUNCTION match_count_terms(p_sample integer DEFAULT 200000) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v_total   double precision;
    v_percent double precision;
    v_kept    integer;
BEGIN
    -- One recount at a time (a worker's and a migration's would both insert every lexeme);
    -- matchers go on reading the last counts until this one commits.
    LOCK TABLE narrative_phrase_terms IN SHARE ROW EXCLUSIVE MODE;
    -- reltuples is -1 until the table is first vacuumed or analysed: count then.
    SELECT reltuples INTO v_total FROM pg_class WHERE oid = 'narrative_phrases'::regclass;
    IF v_total < 0 THEN
        SELECT count(*) INTO v_total FROM narrative_phrases;
    END IF;
    v_percent := least(100.0, 100.0 * p_sample / greatest(v_total, 1.0));
    DELETE FROM narrative_phrase_terms;
    WITH sample AS MATERIALIZED (
        SELECT terms FROM narrative_phrases TABLESAMPLE SYSTEM (v_percent)
    ), size AS (
        SELECT count(*) AS n FROM sample
    )
    INSERT INTO narrative_phrase_terms (term, phrases)
    SELECT t.term,
           CASE WHEN v_percent >= 100 THEN count(*)
                ELSE count(*) * greatest(v_total, size.n) / size.n END
      FROM sample s CROSS JOIN size, unnest(s.terms) AS t (term)
     GROUP BY t.term, size.n
    HAVING v_percent >= 100 OR count(*) > 1;
    GET DIAGNOSTICS v_kept = ROW_COUNT;
    RETURN v_kept;
END
$$;

SELECT match_count_terms();
