-- Coverage statistics (GET /v1/stats/coverage) rank every narrative by its sighting count.
-- Counting a million sightings per request is too slow, and a counter row per narrative updated
-- by every insert would make concurrent ingest into one narrative queue on that row. So writes
-- only ever append delta rows (one per narrative per statement, from statement-level triggers),
-- a worker job (service/jobs/stats.py) folds them into the totals, and a reader adds the
-- totals and the deltas not yet folded: exact at any moment, whether or not the worker runs.
-- False positives are not counted, as everywhere else.

CREATE TABLE narrative_sighting_totals (
    narrative_id uuid   NOT NULL,
    sightings    bigint NOT NULL,
    CONSTRAINT narrative_sighting_totals_pkey PRIMARY KEY (narrative_id)
);

-- No foreign key: it would lock the narrative row once more per write, and narratives are
-- never deleted (DELETE archives).
CREATE TABLE narrative_sighting_deltas (
    id           bigint  GENERATED ALWAYS AS IDENTITY,
    narrative_id uuid    NOT NULL,
    delta        integer NOT NULL,
    CONSTRAINT narrative_sighting_deltas_pkey PRIMARY KEY (id)
);

CREATE FUNCTION sightings_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO narrative_sighting_deltas (narrative_id, delta)
    SELECT narrative_id, count(*)
      FROM new_rows
     WHERE status <> 'false_positive'
     GROUP BY narrative_id;
    RETURN NULL;
END;
$$;

-- A review (false positive or back), a move to another narrative, a deletion.
CREATE FUNCTION sightings_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO narrative_sighting_deltas (narrative_id, delta)
        SELECT narrative_id, -count(*)
          FROM old_rows
         WHERE status <> 'false_positive'
         GROUP BY narrative_id;
    ELSE
        INSERT INTO narrative_sighting_deltas (narrative_id, delta)
        SELECT narrative_id, sum(change)
          FROM (SELECT narrative_id, -1 AS change FROM old_rows WHERE status <> 'false_positive'
                UNION ALL
                SELECT narrative_id, 1 FROM new_rows WHERE status <> 'false_positive') c
         GROUP BY narrative_id
        HAVING sum(change) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

-- Created before the backfill: CREATE TRIGGER locks out writers until this migration commits,
-- so no sighting is counted twice or missed.
CREATE TRIGGER sightings_count_insert AFTER INSERT ON sightings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_count_inserted();
CREATE TRIGGER sightings_count_update AFTER UPDATE ON sightings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_count_changed();
CREATE TRIGGER sightings_count_delete AFTER DELETE ON sightings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_count_changed();

INSERT INTO narrative_sighting_totals (narrative_id, sightings)
SELECT narrative_id, count(*)
  FROM sightings
 WHERE status <> 'false_positive'
 GROUP BY narrative_id;

-- Timelines count a narrative's sightings by source kind and language per bucket: carrying both
-- columns in the (narrative_id, observed_at) index makes that an index-only scan (measured: a
-- narrative with 285,000 sightings went from about 1 s of heap reads to under 0.2 s). It replaces
-- the index of the same key rather than adding one, so ingest maintains no extra index.
CREATE INDEX sightings_seen_cover_idx ON sightings (narrative_id, observed_at)
    INCLUDE (source_kind, language)
    WHERE status <> 'false_positive';
DROP INDEX sightings_seen_idx;
ALTER INDEX sightings_seen_cover_idx RENAME TO sightings_seen_idx;
