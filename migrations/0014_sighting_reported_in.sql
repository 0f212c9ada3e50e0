-- Where a sighting was reported, beside where it was said: a statement heard in a video or
-- carried second-hand has no primary page a reader can open, but the article that reported it
-- has one. Not part of a sighting's identity (which stays narrative + normalised URL, key +
-- external_id, or content), so it needs no normalised form and no index.
-- The outlet's name is what a reader is told; the URL is optional (an outlet may be named
-- without a link), but a URL is never stored without the name of who published it.
ALTER TABLE sightings
    ADD COLUMN reported_in_url  text,
    ADD COLUMN reported_in_name text,
    ADD CONSTRAINT sightings_reported_in_url_length CHECK (length(reported_in_url) <= 2048),
    ADD CONSTRAINT sightings_reported_in_name_length
        CHECK (length(reported_in_name) BETWEEN 1 AND 200),
    ADD CONSTRAINT sightings_reported_in_named
        CHECK (reported_in_url IS NULL OR reported_in_name IS NOT NULL);
