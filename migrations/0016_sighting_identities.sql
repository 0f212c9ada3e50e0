-- Every identity of every sighting in one key space, so that concurrent writers wait for each
-- other in one global order and need no lock per monitor.
--
-- A sighting has up to three identities: (narrative, normalised URL), (reporting key,
-- external_id) and, for one with neither, (narrative, content key) (migrations 0001, 0005). Each
-- was only a unique index on sightings, and a batch took its entries in those three indexes as
-- its rows went in: no one row order is the order of three indexes, so two batches of one key
-- could take (key, external_id) entries in opposite orders and deadlock, and every batch of a
-- key that carried external_ids took a key-wide advisory lock until commit. One monitor's
-- batches queued behind each other, whatever the hardware.
--
-- Now a writer claims all the identities of what it writes, as rows of sighting_identities, in
-- ONE statement, INSERT ... ORDER BY identity ... ON CONFLICT DO NOTHING, before it writes
-- sightings. A writer only waits on a claim another one inserted or deleted and has not yet
-- committed, and it waits inside that statement, for an identity greater than every identity it
-- holds; so a cycle of waits would need an identity greater than itself: there is none. A row
-- of sightings is written only by the holder of all its claims, so nothing else can be writing
-- its identities (the unique indexes on sightings never wait; migration 0017 drops them). The
-- repo code (service/repo/sightings.py, imports.py) claims before it inserts; the triggers
-- below keep the claims right when a sighting's identity changes or it is deleted, from any
-- path, plain SQL included.
--
-- An identity is the first 128 bits of the SHA-256 of a tagged string (sighting_identity): a
-- 16-byte key whatever the URL's length, 60 bytes of table and 31 of index per claim as
-- measured, so about 0.9 GB and 0.5 GB at 10M sightings of one or two identities each, less
-- than half of what the strings themselves would take. Chance collisions: about n^2 / 2^129,
-- 10^-24 for 3 * 10^7 identities; a chosen collision costs 2^64 hashes and only makes two
-- strings of the chooser's own collide. service/repo/identities.py `of` computes the same
-- digests in Python (tests/test_identities.py holds the two equal).

-- The tags keep the kinds apart; the narrative's id is 36 characters and the key's name goes
-- after its length, so that no two identities of one kind share a string.
CREATE FUNCTION sighting_identity(tagged text) RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT encode(substring(sha256(convert_to(tagged, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid $$;

-- A sighting's identities in their order of precedence (URL, content, external_id; the first
-- one taken names the sighting a duplicate is of): three slots, NULL for one it lacks.
CREATE FUNCTION sighting_identities_of(narrative_id uuid, url_normalized text, reported_by text,
                                       external_id text, content_key text) RETURNS uuid[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT ARRAY[
        sighting_identity('u' || narrative_id::text || url_normalized),
        sighting_identity('c' || narrative_id::text || content_key),
        sighting_identity('e' || length(reported_by)::text || ':' || reported_by || external_id)]
    $$;

-- No foreign key to sightings: its check would run once per claim at every commit, and its
-- cascade needs a second index on sighting_id. The delete trigger below finds a deleted
-- sighting's claims by their identities instead.
CREATE TABLE sighting_identities (
    identity    uuid NOT NULL,
    sighting_id uuid NOT NULL,
    CONSTRAINT sighting_identities_pkey PRIMARY KEY (identity)
);

-- The sightings' claims, from their columns, skipping any already held (for loads that bypass
-- the repo, as the benchmark's seed does; run it again after such a load).
CREATE FUNCTION sighting_identities_backfill() RETURNS bigint LANGUAGE sql AS $$
    WITH claimed AS (
        INSERT INTO sighting_identities (identity, sighting_id)
        SELECT k.identity, s.id
          FROM sightings s,
               unnest(sighting_identities_of(s.narrative_id, s.url_normalized, s.reported_by,
                                             s.external_id, s.content_key)) AS k (identity)
         WHERE k.identity IS NOT NULL
         ORDER BY k.identity
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM claimed;
$$;

SELECT sighting_identities_backfill();

-- A change of identity (a PATCH's URL, external_id, words or narrative) claims the new
-- identities in identity order before the row's index entries change (an entry written first
-- could make a batch that holds the claim wait for this writer, which waits for the batch),
-- then frees the old ones. A claim held by another sighting is the unique violation the unique
-- index on sightings raises, under its name, so that the API's 409 says which field clashed.
CREATE FUNCTION sighting_identities_reclaim() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was uuid[] := array_remove(sighting_identities_of(OLD.narrative_id, OLD.url_normalized,
                                                      OLD.reported_by, OLD.external_id,
                                                      OLD.content_key), NULL);
    slots uuid[] := sighting_identities_of(NEW.narrative_id, NEW.url_normalized, NEW.reported_by,
                                           NEW.external_id, NEW.content_key);
    now_ uuid[] := array_remove(slots, NULL);
    got uuid[];
    clash integer;
BEGIN
    WITH claimed AS (
        INSERT INTO sighting_identities (identity, sighting_id)
        SELECT k.identity, NEW.id
          FROM unnest(now_) AS k (identity)
         WHERE k.identity <> ALL (was)
         ORDER BY k.identity
        ON CONFLICT DO NOTHING
        RETURNING identity)
    SELECT coalesce(array_agg(identity), '{}') INTO got FROM claimed;
    SELECT k.slot INTO clash
      FROM unnest(slots) WITH ORDINALITY AS k (identity, slot)
     WHERE k.identity IS NOT NULL AND k.identity <> ALL (was) AND k.identity <> ALL (got)
     ORDER BY k.slot
     LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE unique_violation USING
            MESSAGE = 'another sighting has this identity',
            CONSTRAINT = (ARRAY['sightings_narrative_url_key', 'sightings_content_key',
                                'sightings_reporter_external_id_key'])[clash],
            TABLE = 'sightings';
    END IF;
    DELETE FROM sighting_identities
     WHERE identity = ANY (was) AND identity <> ALL (now_) AND sighting_id = OLD.id;
    IF NEW.id <> OLD.id THEN
        UPDATE sighting_identities SET sighting_id = NEW.id
         WHERE identity = ANY (now_) AND sighting_id = OLD.id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER sightings_identities_update BEFORE UPDATE ON sightings
    FOR EACH ROW
    WHEN ((OLD.id, OLD.narrative_id, OLD.url_normalized, OLD.reported_by, OLD.external_id,
           OLD.content_key)
          IS DISTINCT FROM (NEW.id, NEW.narrative_id, NEW.url_normalized, NEW.reported_by,
                            NEW.external_id, NEW.content_key))
    EXECUTE FUNCTION sighting_identities_reclaim();

CREATE FUNCTION sighting_identities_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sighting_identities c
     USING old_rows o,
           unnest(sighting_identities_of(o.narrative_id, o.url_normalized, o.reported_by,
                                         o.external_id, o.content_key)) AS k (identity)
     WHERE c.identity = k.identity AND c.sighting_id = o.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sightings_identities_delete AFTER DELETE ON sightings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION sighting_identities_release();

CREATE FUNCTION sighting_identities_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE sighting_identities;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sightings_identities_truncate AFTER TRUNCATE ON sightings
    FOR EACH STATEMENT EXECUTE FUNCTION sighting_identities_truncate();
