-- A narrative's first and last seen (the earliest and latest observed_at of its sightings that
-- are not false positives) folded like its sighting count (migration 0013), so that reading
-- them costs the same however many sightings exist: no index probe of sightings per narrative.
--
-- An insert can only lower the minimum and raise the maximum, so its delta row carries the
-- minimum and maximum of what it added, and the fold and the readers combine them with least()
-- and greatest(). A change that takes a sighting away (a deletion, a move out, a review as false
-- positive, a new observed_at) may raise the minimum or lower the maximum, which no delta can
-- say without reading the index: its delta row is marked seen_stale instead. While a marked
-- delta is pending, readers probe the index for that narrative (exact, as before this
-- migration); the fold (service/repo/stats.py) recomputes the narrative from the index and the
-- mark goes with the folded deltas. Additions within an UPDATE (a sighting moved in, one
-- reviewed back from false positive) fold like inserts.

-- First, before anything else: hold writers off until this migration commits (the lock CREATE
-- TRIGGER took in 0013), so that every sighting is either in the backfill at the end or in a
-- delta written by the new trigger functions, carrying its time: none is missed. Writers already
-- under way commit first (the lock waits for them), so the backfill sees what they wrote. Taken
-- before the ALTER TABLEs below lock the deltas, in the order a writer takes the two (sightings,
-- then the deltas its trigger appends to), so that the two cannot deadlock.
LOCK TABLE sightings IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE narrative_sighting_totals
    ADD COLUMN first_seen_at timestamptz,
    ADD COLUMN last_seen_at  timestamptz;

-- No DEFAULT for the delta's two times: NULL when the statement added nothing to the narrative
-- (least and greatest ignore NULLs).
ALTER TABLE narrative_sighting_deltas
    ADD COLUMN first_seen_at timestamptz,
    ADD COLUMN last_seen_at  timestamptz,
    ADD COLUMN seen_stale    boolean NOT NULL DEFAULT false;

-- The trigger functions are replaced before the backfill, under the lock above: writers wait for
-- this migration to commit and then run the new functions, so no sighting is missed (nor would
-- one be counted twice: the backfill only sets times, which least/greatest may see again).
CREATE OR REPLACE FUNCTION sightings_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO narrative_sighting_deltas (narrative_id, delta, first_seen_at, last_seen_at)
    SELECT narrative_id, count(*), min(observed_at), max(observed_at)
      FROM new_rows
     WHERE status <> 'false_positive'
     GROUP BY narrative_id;
    RETURN NULL;
END;
$$;

-- A review (false positive or back), a move to another narrative, a new observed_at, a deletion.
-- An UPDATE pairs each old row with its new one by id: a sighting counted before and after
-- under the same narrative and observed_at changed nothing here (an edit of its quote, say), and
-- a statement of only such edits appends nothing, as before. Any other old counted row was taken
-- away from its narrative (stale); any other new counted row was added to its narrative.
CREATE OR REPLACE FUNCTION sightings_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO narrative_sighting_deltas (narrative_id, delta, seen_stale)
        SELECT narrative_id, -count(*), true
          FROM old_rows
         WHERE status <> 'false_positive'
         GROUP BY narrative_id;
    ELSE
        INSERT INTO narrative_sighting_deltas
               (narrative_id, delta, first_seen_at, last_seen_at, seen_stale)
        SELECT narrative_id, sum(change), min(added_at), max(added_at), bool_or(change < 0)
          FROM (SELECT o.narrative_id, -1 AS change, NULL::timestamptz AS added_at
                  FROM old_rows o
                 WHERE o.status <> 'false_positive'
                   AND NOT EXISTS (SELECT FROM new_rows n
                                    WHERE n.id = o.id AND n.narrative_id = o.narrative_id
                                      AND n.observed_at = o.observed_at
                                      AND n.status <> 'false_positive')
                UNION ALL
                SELECT n.narrative_id, 1, n.observed_at
                  FROM new_rows n
                 WHERE n.status <> 'false_positive'
                   AND NOT EXISTS (SELECT FROM old_rows o
                                    WHERE o.id = n.id AND o.narrative_id = n.narrative_id
                                      AND o.observed_at = n.observed_at
                                      AND o.status <> 'false_positive')) c
         GROUP BY narrative_id;
    END IF;
    RETURN NULL;
END;
$$;

-- Set-based: one pass over the partial (narrative_id, observed_at) index, grouped in order.
-- Counts stay as they were (the totals plus the deltas already add up); a narrative whose
-- sightings are all in deltas not yet folded gets a totals row with a count of 0.
INSERT INTO narrative_sighting_totals AS t (narrative_id, sightings, first_seen_at, last_seen_at)
SELECT narrative_id, 0, min(observed_at), max(observed_at)
  FROM sightings
 WHERE status <> 'false_positive'
 GROUP BY narrative_id
    ON CONFLICT (narrative_id) DO UPDATE
   SET first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at;

-- Deltas appended before this migration carry no times and no mark: the backfill already covers
-- what they added and what they took away.
--
-- A fold from the code before this migration would drop the times the new deltas carry (it
-- knows only the count): run the worker of this release, or none, once this migration is in.
