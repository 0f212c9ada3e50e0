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

-- What the last count says of a lexeme it does not hold: the phrases one sighting of it in the
-- sample stands for (0 when the counts are exact). The matcher takes a missing lexeme to be
-- held by this many, so that a text of many rare words cannot look them all up.
CREATE TABLE narrative_phrase_term_sample (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    unseen real    NOT NULL DEFAULT 0
);
INSERT INTO narrative_phrase_term_sample DEFAULT VALUES;

-- Replaces the counts with those of a fresh sample of about `p_sample` phrases, scaled to the
-- table's size; every phrase when the table holds fewer, and then the counts are exact. The
-- sample is of rows, not of pages (TABLESAMPLE SYSTEM): ids drawn at random between the lowest
-- and the highest, looked up in id order. A page holds phrases written together (a narrative's
-- title, aliases and summary; one batch's quotes), so a page sample sees a lexeme in clumps, and
-- at ten million phrases it put narratives' own words at four times their count. The cost is
-- the sample's index probes, whatever the table's size. In a sample, lexemes seen once are left
-- out: their estimate is noise, and a missing lexeme counts as held by `unseen` phrases. Returns
-- the lexemes kept.
CREATE FUNCTION match_count_terms(p_sample integer DEFAULT 200000) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v_lo    bigint;
    v_hi    bigint;
    v_picks bigint[];
    v_kept  integer;
BEGIN
    -- One recount at a time (a worker's and a migration's would both insert every lexeme);
    -- matchers go on reading the last counts until this one commits.
    LOCK TABLE narrative_phrase_terms IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM narrative_phrase_terms;
    SELECT min(id), max(id) INTO v_lo, v_hi FROM narrative_phrases;
    IF v_hi IS NULL OR v_hi - v_lo < p_sample THEN
        UPDATE narrative_phrase_term_sample SET unseen = 0;
        INSERT INTO narrative_phrase_terms (term, phrases)
        SELECT t.term, count(*)
          FROM narrative_phrases p, unnest(p.terms) AS t (term)
         GROUP BY t.term;
    ELSE
        -- Ids missing (phrases deleted) are drawn too and find nothing: a lexeme's share of
        -- the ids drawn, times the ids there are, estimates the phrases holding it.
        v_picks := ARRAY(SELECT DISTINCT v_lo + floor(random() * (v_hi - v_lo + 1))::bigint
                           FROM generate_series(1, p_sample)
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

SELECT match_count_terms();
