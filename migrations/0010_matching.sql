-- Matching a text against the known narratives (POST /v1/match).
--
-- The percolator pattern: every narrative's phrasings (title, aliases, keywords, summary, and the
-- quotes of its sightings that are not false positives) are stored as rows of narrative_phrases,
-- each with its lexemes (`terms`) computed by the text search configuration of its language. A
-- text to match is analysed once; the phrases that share a lexeme with it are found through the
-- GIN index on `terms` and scored in the application (service/matching/scoring.py).
--
-- Triggers keep the phrases in step with every write path (API, batch ingest, demo loader, SQL).
-- PostgreSQL has no Ukrainian stemmer: Ukrainian phrases are first indexed on their raw words
-- (`lemmatized` false), and the application replaces their terms with those of the lemmatised text
-- (simplemma) in the same transaction (service/repo/phrases.py).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- For Ukrainian (after lemmatisation) and for languages without a stemmer: words are unaccented
-- and lower-cased; ASCII words go through the English stemmer, as they do in the `russian`
-- configuration, so that "Crocus City Hall" inside a Ukrainian or German text meets the English
-- keyword's lexemes.
CREATE TEXT SEARCH CONFIGURATION match_simple (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION match_simple
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH english_stem;
ALTER TEXT SEARCH CONFIGURATION match_simple
    ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple;

-- The language of text that carries none (titles, summaries, keywords), by script; the
-- application's detector (service/matching/language.py) follows the same letters.
CREATE FUNCTION match_language(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    CASE WHEN body ~ '[іїєґІЇЄҐ]' THEN 'uk'
         WHEN body ~ '[а-яА-ЯёЁ]' THEN 'ru'
         WHEN body ~ '[A-Za-z]' THEN 'en'
         ELSE 'und' END;

CREATE FUNCTION match_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    CASE lower(split_part(language, '-', 1))
         WHEN 'en' THEN 'english'::regconfig
         WHEN 'ru' THEN 'russian'::regconfig
         ELSE 'match_simple'::regconfig END;

-- Distinct lexemes, sorted: the `terms` of a phrase and of a text to match.
CREATE FUNCTION match_terms(config regconfig, body text) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE RETURN
    tsvector_to_array(strip(to_tsvector(config, body)));

CREATE TABLE narrative_phrases (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    narrative_id uuid    NOT NULL,
    kind         text    NOT NULL,
    position     integer NOT NULL DEFAULT 0,
    sighting_id  uuid,
    text         text    NOT NULL,
    language     text    NOT NULL,
    terms        text[]  NOT NULL,
    -- Lower-cased and unaccented text of short phrases, for trigram matching of misspellings.
    folded       text,
    lemmatized   boolean NOT NULL DEFAULT true,
    CONSTRAINT narrative_phrases_pkey PRIMARY KEY (id),
    CONSTRAINT narrative_phrases_narrative_fkey FOREIGN KEY (narrative_id)
        REFERENCES narratives (id) ON DELETE CASCADE,
    CONSTRAINT narrative_phrases_sighting_fkey FOREIGN KEY (sighting_id)
        REFERENCES sightings (id) ON DELETE CASCADE,
    CONSTRAINT narrative_phrases_kind_valid
        CHECK (kind IN ('title', 'alias', 'keyword', 'summary', 'quote')),
    CONSTRAINT narrative_phrases_quote_sighting CHECK ((kind = 'quote') = (sighting_id IS NOT NULL))
);

-- Candidates: the phrases sharing at least one lexeme with the text (terms && text's terms).
-- No pending list: every match would scan it whole, and matching is read far more than written.
CREATE INDEX narrative_phrases_terms_idx ON narrative_phrases USING gin (terms)
    WITH (fastupdate = off);
-- The matcher drops lexemes that ANALYZE finds in very many phrases (pg_stats' most common
-- elements); a larger target tracks more of them.
ALTER TABLE narrative_phrases ALTER COLUMN terms SET STATISTICS 1000;
CREATE INDEX narrative_phrases_folded_idx ON narrative_phrases USING gin (folded gin_trgm_ops)
    WHERE folded IS NOT NULL;
CREATE INDEX narrative_phrases_narrative_idx ON narrative_phrases (narrative_id, kind);
CREATE INDEX narrative_phrases_sighting_idx ON narrative_phrases (sighting_id)
    WHERE sighting_id IS NOT NULL;
CREATE INDEX narrative_phrases_pending_idx ON narrative_phrases (id) WHERE NOT lemmatized;

-- Archived narratives never match: candidates are checked against this small index rather than
-- joined with every narrative.
CREATE INDEX narratives_archived_idx ON narratives (id) WHERE status = 'archived';

-- Sighting URLs are looked up by their normalised form (sightings_url_idx, migration 0001).

CREATE FUNCTION match_phrase_row(
    p_narrative uuid, p_kind text, p_position integer, p_sighting uuid, p_text text,
    p_language text
) RETURNS narrative_phrases
    LANGUAGE sql STABLE RETURN ROW(
        NULL, p_narrative, p_kind, p_position, p_sighting, p_text, p_language,
        match_terms(match_config(p_language), p_text),
        CASE WHEN p_kind IN ('title', 'alias', 'keyword') AND length(p_text) <= 200
             THEN lower(unaccent(p_text)) END,
        lower(split_part(p_language, '-', 1)) <> 'uk')::narrative_phrases;

-- Phrases with no lexeme (only stop words) can never match and are not stored.
CREATE FUNCTION match_insert_phrases(p_rows narrative_phrases[]) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO narrative_phrases (narrative_id, kind, position, sighting_id, text,
                                       language, terms, folded, lemmatized)
        SELECT r.narrative_id, r.kind, r.position, r.sighting_id, r.text, r.language,
               r.terms, r.folded, r.lemmatized
          FROM unnest(p_rows) r
         WHERE cardinality(r.terms) > 0 OR NOT r.lemmatized
    $$;

-- A narrative's own phrasings: rebuilt when its title, summary or keywords change.
CREATE FUNCTION match_rebuild_narratives(p_ids uuid[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM narrative_phrases
     WHERE narrative_id = ANY(p_ids) AND kind IN ('title', 'summary', 'keyword');
    SELECT match_insert_phrases(array_agg(p.row))
      FROM (SELECT match_phrase_row(n.id, 'title', 0, NULL, n.title, match_language(n.title))
                   AS row
              FROM narratives n WHERE n.id = ANY(p_ids)
            UNION ALL
            SELECT match_phrase_row(n.id, 'summary', 0, NULL, n.summary,
                                    match_language(n.summary))
              FROM narratives n WHERE n.id = ANY(p_ids) AND n.summary <> ''
            UNION ALL
            SELECT match_phrase_row(n.id, 'keyword', k.position::integer, NULL, k.keyword,
                                    match_language(k.keyword))
              FROM narratives n, unnest(n.keywords) WITH ORDINALITY AS k (keyword, position)
             WHERE n.id = ANY(p_ids)) p;
$$;

CREATE FUNCTION match_narrative_phrases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id) INTO changed FROM new_rows n;
    ELSE
        SELECT array_agg(n.id) INTO changed
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.title, n.summary, n.keywords) IS DISTINCT FROM (o.title, o.summary, o.keywords);
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM match_rebuild_narratives(changed);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER narratives_match_insert AFTER INSERT ON narratives
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION match_narrative_phrases();
CREATE TRIGGER narratives_match_update AFTER UPDATE ON narratives
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION match_narrative_phrases();

CREATE FUNCTION match_alias_phrases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM narrative_phrases p
         USING old_rows o
         WHERE p.narrative_id = o.narrative_id AND p.kind = 'alias' AND p.position = o.position;
    ELSE
        PERFORM match_insert_phrases(array_agg(
                    match_phrase_row(n.narrative_id, 'alias', n.position, NULL, n.text, n.language)))
           FROM new_rows n;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER narrative_aliases_match_insert AFTER INSERT ON narrative_aliases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION match_alias_phrases();
CREATE TRIGGER narrative_aliases_match_delete AFTER DELETE ON narrative_aliases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION match_alias_phrases();

-- A sighting's quote is a phrasing of its narrative unless the sighting is a false positive.
CREATE FUNCTION match_rebuild_sightings(p_ids uuid[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM narrative_phrases WHERE sighting_id = ANY(p_ids);
    SELECT match_insert_phrases(array_agg(
               match_phrase_row(s.narrative_id, 'quote', 0, s.id, s.quote, s.language)))
      FROM sightings s
     WHERE s.id = ANY(p_ids)
       AND s.quote IS NOT NULL AND s.quote <> '' AND s.status <> 'false_positive';
$$;

CREATE FUNCTION match_sighting_phrases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id) INTO changed FROM new_rows n WHERE n.quote IS NOT NULL;
    ELSE
        SELECT array_agg(n.id) INTO changed
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.quote, n.status, n.language, n.narrative_id)
               IS DISTINCT FROM (o.quote, o.status, o.language, o.narrative_id);
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM match_rebuild_sightings(changed);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sightings_match_insert AFTER INSERT ON sightings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION match_sighting_phrases();
CREATE TRIGGER sightings_match_update AFTER UPDATE ON sightings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION match_sighting_phrases();

-- Narratives and sightings written before this migration.
SELECT match_insert_phrases(array_agg(p.row))
  FROM (SELECT match_phrase_row(n.id, 'title', 0, NULL, n.title, match_language(n.title)) AS row
          FROM narratives n
        UNION ALL
        SELECT match_phrase_row(n.id, 'summary', 0, NULL, n.summary, match_language(n.summary))
          FROM narratives n WHERE n.summary <> ''
        UNION ALL
        SELECT match_phrase_row(n.id, 'keyword', k.position::integer, NULL, k.keyword,
                                match_language(k.keyword))
          FROM narratives n, unnest(n.keywords) WITH ORDINALITY AS k (keyword, position)
        UNION ALL
        SELECT match_phrase_row(a.narrative_id, 'alias', a.position, NULL, a.text, a.language)
          FROM narrative_aliases a
        UNION ALL
        SELECT match_phrase_row(s.narrative_id, 'quote', 0, s.id, s.quote, s.language)
          FROM sightings s
         WHERE s.quote IS NOT NULL AND s.quote <> '' AND s.status <> 'false_positive') p;
