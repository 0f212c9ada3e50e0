-- A narrative's timeline by day or by week reads a per-narrative, per-UTC-day rollup, not its
-- sightings. Counting the sightings of each bucket grew with them: a year of days for a
-- narrative with 40,000 sightings took ~20 ms, and ten times the data took ten times as long.
-- The rollup holds a row per (narrative, UTC day, source kind, lower-cased language) that has
-- sightings, so a year's timeline reads at most 366 rows per kind and language, however many
-- sightings there are. Hourly timelines (at most 2,000 hours) still count the sightings.
--
-- As with the sighting counts (0013), writes never update a shared row: statement-level
-- triggers append delta rows, one per (narrative, day, kind, language) a statement changed, the
-- worker's stats-fold job (service/repo/stats.py `fold`) folds them into narrative_days, and a
-- reader adds the rollup and the deltas not yet folded: exact at every moment, whether or not the
-- worker runs. False positives are not counted, as everywhere else. A monitor's batch of recent
-- sightings makes a few delta rows; one spread over many days makes one per day it touches.

-- First: hold writers off until this migration commits, so that every sighting is either in the
-- backfill below or in a delta of the new triggers, never in both nor in neither.
LOCK TABLE sightings IN SHARE ROW EXCLUSIVE MODE;

-- No foreign key, as for the totals: narratives are never deleted (DELETE archives).
CREATE TABLE narrative_days (
    narrative_id uuid        NOT NULL,
    day          timestamptz NOT NULL,
    source_kind  text        NOT NULL,
    language     text        NOT NULL,
    sightings    bigint      NOT NULL,
    CONSTRAINT narrative_days_pkey PRIMARY KEY (narrative_id, day, source_kind, language)
);

-- No identity column and no primary key: nothing looks a delta up by id, and each index is one
-- more write per delta on the ingest path. Readers find a narrative's deltas by this one.
CREATE TABLE narrative_day_deltas (
    narrative_id uuid        NOT NULL,
    day          timestamptz NOT NULL,
    source_kind  text        NOT NULL,
    language     text        NOT NULL,
    delta        integer     NOT NULL
);
CREATE INDEX narrative_day_deltas_narrative_idx ON narrative_day_deltas (narrative_id, day);

-- An INSERT adds its counted rows, a DELETE takes its counted rows away, and an UPDATE takes each
-- old counted row away and adds each new one: an edit that leaves a sighting in the same cell
-- (its quote, a review from unreviewed to confirmed) nets to zero there and appends nothing.
CREATE FUNCTION sightings_days_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO narrative_day_deltas (narrative_id, day, source_kind, language, delta)
        SELECT narrative_id, date_trunc('day', observed_at, 'UTC'), source_kind, lower(language),
               count(*)
          FROM new_rows
         WHERE status <> 'false_positive'
         GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO narrative_day_deltas (narrative_id, day, source_kind, language, delta)
        SELECT narrative_id, date_trunc('day', observed_at, 'UTC'), source_kind, lower(language),
               -count(*)
          FROM old_rows
         WHERE status <> 'false_positive'
         GROUP BY 1, 2, 3, 4;
    ELSE
        INSERT INTO narrative_day_deltas (narrative_id, day, source_kind, language, delta)
        SELECT narrative_id, day, source_kind, language, sum(change)
          FROM (SELECT narrative_id, date_trunc('day', observed_at, 'UTC') AS day, source_kind,
                       lower(language) AS language, -1 AS change
                  FROM old_rows
                 WHERE status <> 'false_positive'
                UNION ALL
                SELECT narrative_id, date_trunc('day', observed_at, 'UTC'), source_kind,
                       lower(language), 1
                  FROM new_rows
                 WHERE status <> 'false_positive') c
         GROUP BY 1, 2, 3, 4
        HAVING sum(change) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sightings_days_insert AFTER INSERT ON sightings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_days_changed();
CREATE TRIGGER sightings_days_update AFTER UPDATE ON sightings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_days_changed();
CREATE TRIGGER sightings_days_delete AFTER DELETE ON sightings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_days_changed();

-- TRUNCATE fires no row or statement trigger of the kinds above: empty what they keep, the
-- sighting counts' totals and deltas (0013) too, which were left stale until now.
CREATE FUNCTION sightings_rollups_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE narrative_days, narrative_day_deltas, narrative_sighting_totals,
             narrative_sighting_deltas;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sightings_rollups_truncate AFTER TRUNCATE ON sightings
    FOR EACH STATEMENT EXECUTE FUNCTION sightings_rollups_truncated();

-- The backfill: one pass over the sightings (20 s for ten million on the bench machine,
-- writers waiting on the lock above).
INSERT INTO narrative_days (narrative_id, day, source_kind, language, sightings)
SELECT narrative_id, date_trunc('day', observed_at, 'UTC'), source_kind, lower(language), count(*)
  FROM sightings
 WHERE status <> 'false_positive'
 GROUP BY 1, 2, 3, 4;
