-- A narrative's sighting count is its folded total plus the deltas not yet folded
-- (migrations/0013). Finding those deltas by narrative must be an index range, not a scan of
-- everything ingest appended since the last fold, so that reading one narrative costs the
-- same however busy ingest is.
CREATE INDEX narrative_sighting_deltas_narrative_idx ON narrative_sighting_deltas (narrative_id);
