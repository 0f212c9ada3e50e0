-- How many phrases hold each lexeme, estimated from a sample: what the matcher prunes by
-- (service/matching/pruning.py), in place of the statistics ANALYZE keeps.
--
-- The matcher looks a text's lexemes up rarest first until the phrases they pull in reach a
-- budget. ANALYZE's statistics track at most ten thousand lexemes (most_common_elems, at the
-- column's statistics target of 1000), above a frequency cutoff: at ten million sightings a
-- narrative's own words, held by a few hundred phrases each, fell below it, were taken for rare,
-- always looked up, and the candidates grew with the data. This table counts every lexeme of a
-- sample of phrases (all of them when there are few), so a lexeme missing from it is held by
-- fewer phrases than two in the sample stand for. (0010's statistics target on `terms` stays:
-- the planner estimates the phrase look-up with it.)
--
-- The worker refreshes it (service/jobs/matching.py, every MATCH_TERMS_SECONDS); this migration
-- fills it once. Nothing writes it on the ingest path: counts lag new phrases by the refresh
-- interval, which moves a pruning threshold, never what a phrase found is scored. Counts take in
-- the phrases of archived narratives too, which matching skips: a handful among thousands.

CREATE TABLE narrative_phrase_terms (
    term    text PRIMARY KEY,
    phrases real NOT NULL  -- estimated phrases holding the lexeme
);

-- What the last count says of a lexeme it does not hold: the phrases one sighting of it in the
-- sample stands for (0 when the counts are exact, or none were taken). Such a lexeme is held by
-- about this many phrases at most; the matcher bounds how many it looks up when it is not 0.
CREATE TABLE narrative_phrase_term_sample (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    unseen real    NOT NULL DEFAULT 0
);
INSERT INTO narrative_phrase_term_sample DEFAULT VALUES;

-- Replaces the counts with those of a fresh sample of about `p_sample` phrases, scaled to the
-- table's size; every phrase when the table holds no more, and then the counts are exact. The
-- sample is of rows, not of pages (TABLESAMPLE SYSTEM): ids drawn at random between the lowest
-- and the highest, looked up in id order. A page holds phrases written together (a narrative's
-- title, aliases and summary; one batch's quotes), so a page sample sees a lexeme in clumps, and
-- at ten million phrases it put narratives' own words at four times their count. Each phrase
-- drawn is on a page of its own: a recount reads about `p_sample` pages (2-3 s at ten million on
-- the bench machine), like an ANALYZE at this column's statistics target (0010). In a sample,
-- lexemes seen once are left out: their estimate is noise, and `unseen` says what a missing
-- lexeme is held by at most, about. Returns the lexemes kept.
--
-- One recount at a time: two would insert the same lexemes (the worker's, bench/seed.py's, one by
-- hand). Matchers go on reading the last counts until a recount commits.
CREATE FUNCTION match_count_terms(p_sample integer) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v_rows  bigint;
    v_total double precision;
    v_lo    bigint;
    v_hi    bigint;
    v_picks bigint[];
    v_kept  integer;
BEGIN
    IF p_sample IS NULL OR p_sample < 1 THEN
        RAISE EXCEPTION 'a sample of % phrases counts nothing', coalesce(p_sample::text, 'NULL');
    END IF;
    LOCK TABLE narrative_phrase_terms IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM narrative_phrase_terms;
    SELECT count(*) INTO v_rows FROM (SELECT FROM narrative_phrases LIMIT p_sample + 1) few;
    IF v_rows <= p_sample THEN
        UPDATE narrative_phrase_term_sample SET unseen = 0;
        INSERT INTO narrative_phrase_terms (term, phrases)
        SELECT t.term, count(*)
          FROM narrative_phrases p, unnest(p.terms) AS t (term)
         GROUP BY t.term;
    ELSE
        -- Ids deleted (a narrative's phrases are rebuilt when it is edited) are drawn too and
        -- find nothing: draw more where the ids are sparse, by the planner's row estimate (the
        -- table holds more than the sample, and at most ten times the sample is drawn, should
        -- that estimate be stale). A lexeme's share of the ids drawn, times the ids there are,
        -- estimates the phrases holding it.
        SELECT min(id), max(id) INTO v_lo, v_hi FROM narrative_phrases;
        SELECT greatest(reltuples, p_sample) INTO v_total
          FROM pg_class WHERE oid = 'narrative_phrases'::regclass;
        v_picks := ARRAY(
            SELECT DISTINCT v_lo + floor(random() * (v_hi - v_lo + 1))::bigint
              FROM generate_series(1, least(10 * p_sample,
                                            ceil(p_sample * (v_hi - v_lo + 1) / v_total))::int)
             ORDER BY 1);
        UPDATE narrative_phrase_term_sample
           SET unseen = (v_hi - v_lo + 1)::double precision / cardinality(v_picks);
        INSERT INTO narrative_phrase_terms (term, phrases)
        SELECT t.term, count(*) * (v_hi - v_lo + 1)::double precision / cardinality(v_picks)
          FROM narrative_phrases p, unnest(p.terms) AS t (term)
         WHERE p.id = ANY (v_picks)
         GROUP BY t.term
        HAVING count(*) > 1;
    END IF;
    GET DIAGNOSTICS v_kept = ROW_COUNT;
    RETURN v_kept;
END
$$;

SELECT match_count_terms(200000);
