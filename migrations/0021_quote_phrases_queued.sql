-- A new sighting's quote becomes a matching phrase in the worker, not in the inserting statement.
--
-- Building the phrase (to_tsvector, a heap row, a GIN entry per lexeme and four btree entries)
-- was about half of what PostgreSQL spent inserting a sighting: batches of 500 ran at ~3,000
-- rows/s with 0010's trigger and ~5,500 without it. Monitors post in bursts; a quote that is
-- matchable a second or two later serves them as well, and the burst goes in at the rate of the
-- sightings alone.
--
-- The insert trigger now only queues the new sightings' ids, one row per 1,000 of a statement
-- (a batch: one row; an import of a million: a thousand), in the same transaction, so a
-- committed sighting is never missing from the queue. The worker's job `match-quotes`
-- (service/jobs/matching.py) builds their phrases with match_build_quotes() and deletes the
-- queue rows in the same transaction. Edits (a quote, a status, a narrative changed) still
-- rebuild at once: an editor marking a false positive expects it gone from matching.
--
-- A sighting has one phrase at most, and the unique index below says so: a rebuild upserts it.
-- Two rebuilds of one sighting at once (two workers, a worker and an editor) then take turns on
-- the index entry instead of both inserting; an editor in REPEATABLE READ whose snapshot
-- predates the worker's phrase gets a serialization failure to retry, not a stale phrase.
--
-- match_build_quotes() also locks the sightings it builds FOR SHARE, so an edit either waits for
-- it (and then rebuilds from its own row) or was first (and the build reads the edited row); a
-- sighting locked by another transaction is skipped and queued again, with its first queueing
-- time, so the worker never waits on, or deadlocks with, an ingest.
--
-- match_sighting_phrases() and match_rebuild_sightings() replace 0010's under the same names, so
-- 0010's triggers call them.

CREATE TABLE narrative_phrase_queue (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sighting_ids uuid[] NOT NULL,
    -- cardinality(sighting_ids), kept apart so that claiming and counting never read the arrays
    size         integer NOT NULL,
    queued_at    timestamptz NOT NULL DEFAULT now()
);

-- Only a race between a rebuild and the old insert trigger could have left two; keep the newest.
DELETE FROM narrative_phrases p
 USING narrative_phrases q
 WHERE p.sighting_id = q.sighting_id AND p.id < q.id;
CREATE UNIQUE INDEX narrative_phrases_sighting_key ON narrative_phrases (sighting_id)
    WHERE sighting_id IS NOT NULL;
DROP INDEX narrative_phrases_sighting_idx;

CREATE OR REPLACE FUNCTION match_rebuild_sightings(p_ids uuid[]) RETURNS void LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT r.*
          FROM sightings s,
               LATERAL match_phrase_row(s.narrative_id, 'quote', 0, s.id, s.quote, s.language) r
         WHERE s.id = ANY (p_ids)
           AND s.quote IS NOT NULL AND s.quote <> '' AND s.status <> 'false_positive'
    ), kept AS (
        -- Phrases with no lexeme (only stop words) can never match and are not stored.
        SELECT * FROM fresh WHERE cardinality(terms) > 0 OR NOT lemmatized
    ), gone AS (
        DELETE FROM narrative_phrases p
         WHERE p.sighting_id = ANY (p_ids)
           AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.sighting_id = p.sighting_id)
    )
    INSERT INTO narrative_phrases (narrative_id, kind, position, sighting_id, text, language,
                                   terms, folded, lemmatized)
    SELECT narrative_id, kind, position, sighting_id, text, language, terms, folded, lemmatized
      FROM kept
        ON CONFLICT (sighting_id) WHERE sighting_id IS NOT NULL DO UPDATE
       SET narrative_id = excluded.narrative_id, text = excluded.text,
           language = excluded.language, terms = excluded.terms, folded = excluded.folded,
           lemmatized = excluded.lemmatized;
$$;

CREATE OR REPLACE FUNCTION match_sighting_phrases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO narrative_phrase_queue (sighting_ids, size)
        SELECT array_agg(q.id), count(*)
          FROM (SELECT n.id, (row_number() OVER () - 1) / 1000 AS chunk
                  FROM new_rows n
                 WHERE n.quote IS NOT NULL AND n.quote <> '' AND n.status <> 'false_positive') q
         GROUP BY q.chunk;
        RETURN NULL;
    END IF;
    SELECT array_agg(n.id) INTO changed
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (n.quote, n.status, n.language, n.narrative_id)
           IS DISTINCT FROM (o.quote, o.status, o.language, o.narrative_id);
    IF changed IS NOT NULL THEN
        PERFORM match_rebuild_sightings(changed);
    END IF;
    RETURN NULL;
END;
$$;

-- Builds the phrases of the oldest queue rows, up to about p_sightings sightings, and deletes
-- those rows. Of those oldest rows, the ones another worker holds are skipped: a second worker
-- finds little or nothing while the first works through the head of the queue (one worker
-- builds ~20,000 quotes a second, twice what ingest sustains), and comes back next round. `claimed` is the queue rows taken (0: none
-- left to take), `built` the sightings built. Phrases in Ukrainian come out flagged, for the
-- caller to lemmatise in the same transaction (service/repo/phrases.py).
CREATE FUNCTION match_build_quotes(p_sightings integer, OUT claimed integer, OUT built integer)
    LANGUAGE plpgsql AS $$
DECLARE
    v_queue  bigint[];
    v_ids    uuid[];
    v_oldest timestamptz;
    v_locked uuid[];
    v_busy   uuid[];
BEGIN
    WITH claim AS (
        SELECT q.id, q.sighting_ids, q.queued_at
          FROM narrative_phrase_queue q
         WHERE q.id IN (SELECT w.id
                          FROM (SELECT id, sum(size) OVER (ORDER BY id) - size AS before
                                  FROM narrative_phrase_queue
                                 ORDER BY id LIMIT p_sightings) w
                         WHERE w.before < p_sightings)
           FOR UPDATE SKIP LOCKED
    )
    SELECT array_agg(DISTINCT c.id), array_agg(s.id), min(c.queued_at)
      INTO v_queue, v_ids, v_oldest
      FROM claim c LEFT JOIN LATERAL unnest(c.sighting_ids) AS s (id) ON true;
    claimed := coalesce(cardinality(v_queue), 0);
    built := 0;
    IF claimed = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(l.id) INTO v_locked
      FROM (SELECT id FROM sightings WHERE id = ANY (v_ids) ORDER BY id
               FOR SHARE SKIP LOCKED) l;
    -- Skipped: being written by another transaction. Still there: queued again, as old as it was.
    SELECT array_agg(s.id) INTO v_busy
      FROM sightings s
     WHERE s.id = ANY (v_ids) AND NOT s.id = ANY (coalesce(v_locked, '{}'));
    IF v_busy IS NOT NULL THEN
        INSERT INTO narrative_phrase_queue (sighting_ids, size, queued_at)
        VALUES (v_busy, cardinality(v_busy), v_oldest);
    END IF;
    IF v_locked IS NOT NULL THEN
        PERFORM match_rebuild_sightings(v_locked);
        built := cardinality(v_locked);
    END IF;
    DELETE FROM narrative_phrase_queue WHERE id = ANY (v_queue);
END;
$$;
