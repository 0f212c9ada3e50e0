-- A third identity for sightings that carry neither a URL nor an external_id (a TV quote, a
-- speech): the same narrative, moment, source, speaker and words. Without it a monitor's retry
-- of such a sighting would store it twice. The key is a hash computed by the application.
ALTER TABLE sightings ADD COLUMN content_key text;

CREATE UNIQUE INDEX sightings_content_key ON sightings (narrative_id, content_key)
    WHERE content_key IS NOT NULL;

-- first/last seen per narrative without reading its every sighting.
CREATE INDEX sightings_seen_idx ON sightings (narrative_id, observed_at)
    WHERE status <> 'false_positive';

-- The remaining list filters.
CREATE INDEX sightings_language_idx ON sightings (lower(language), observed_at DESC);
CREATE INDEX sightings_country_idx ON sightings (country, observed_at DESC)
    WHERE country IS NOT NULL;

-- The audit trail pages by id (its identity is monotonic), filtered by resource.
CREATE INDEX audit_log_resource_idx ON audit_log (resource, id DESC);
