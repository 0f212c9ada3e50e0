-- A new sighting's quote becomes a matching phrase in the worker, not in the inserting statement.
--
-- Building the phrase (to_tsvector, a heap row, a GIN entry per lexeme and four btree entries)
-- was about half of what PostgreSQL spent inserting a sighting: COPY of 100,000 sightings ran at
-- ~5,400 rows/s with 0010's trigger and ~9,500 without it. Monitors post in bursts; a quote that
-- is matchable a second or two later serves them as well, and the burst goes in at the rate of
-- the sightings alone.
--
-- The insert trigger now only queues the new sightings' ids, one row per 1,000 of a statement
-- (a batch: one row; an import of a million: a thousand), in the same transaction, so a
-- committed sighting is never missing from the queue. The worker's job `match-quotes`
-- (service/jobs/matching.py) builds their phrases with match_build_quotes() and deletes the
-- queue rows in the same transaction. Edits (a quote, a status, a narrative changed) still
-- rebuild at once: an editor marking a false positive expects it gone from matching.
--
-- Concurrency: match_build_quotes() locks the sightings it builds FOR SHARE, so an edit either
-- waits for it (and then rebuilds from its own row) or was first (and the build reads the
-- edited row); a sighting locked by another transaction is skipped and queued again, so the
-- worker never waits on, or deadlocks with, an ingest. Rebuilding is idempotent (delete, then
-- insert from the row as it is), so a sighting built twice has one phrase.
--
-- match_sighting_phrases() replaces 0010's under the same name, so 0010's triggers call it.

CREATE TABLE narrative_phrase_queue (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sighting_ids uuid[] NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION match_sighting_phrases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO narrative_phrase_queue (sighting_ids)
        SELECT array_agg(q.id)
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

-- Builds the phrases of up to p_rows queue rows (oldest first; rows another worker holds are
-- skipped) and deletes those rows; returns the sightings built. Phrases in Ukrainian come out
-- flagged, for the caller to lemmatise in the same transaction (service/repo/phrases.py).
CREATE FUNCTION match_build_quotes(p_rows integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_queue  bigint[];
    v_ids    uuid[];
    v_locked uuid[];
    v_busy   uuid[];
BEGIN
    SELECT array_agg(q.id), array_agg(s.id)
      INTO v_queue, v_ids
      FROM (SELECT id, sighting_ids FROM narrative_phrase_queue
             ORDER BY id LIMIT p_rows FOR UPDATE SKIP LOCKED) q
           LEFT JOIN LATERAL unnest(q.sighting_ids) AS s (id) ON true;
    IF v_queue IS NULL THEN
        RETURN 0;
    END IF;
    SELECT array_agg(l.id) INTO v_locked
      FROM (SELECT id FROM sightings WHERE id = ANY (v_ids) ORDER BY id
               FOR SHARE SKIP LOCKED) l;
    -- Skipped: being written by another transaction. Still there: queued again.
    SELECT array_agg(s.id) INTO v_busy
      FROM sightings s
     WHERE s.id = ANY (v_ids) AND NOT s.id = ANY (coalesce(v_locked, '{}'));
    IF v_busy IS NOT NULL THEN
        INSERT INTO narrative_phrase_queue (sighting_ids) VALUES (v_busy);
    END IF;
    IF v_locked IS NOT NULL THEN
        PERFORM match_rebuild_sightings(v_locked);
    END IF;
    DELETE FROM narrative_phrase_queue WHERE id = ANY (v_queue);
    RETURN coalesce(cardinality(v_locked), 0);
END;
$$;
