-- API keys (stored only as hashes) and an audit trail of every write.

CREATE TABLE api_keys (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    name         text        NOT NULL,
    role         text        NOT NULL,
    prefix       text        NOT NULL,
    key_hash     text        NOT NULL,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    -- Names are provenance (`reported_by`), so a name is never reused, even after revocation.
    CONSTRAINT api_keys_name_key UNIQUE (name),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    CONSTRAINT api_keys_role_valid CHECK (role IN ('reader', 'monitor', 'editor', 'admin'))
);

CREATE TABLE audit_log (
    id        bigint      GENERATED ALWAYS AS IDENTITY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    key_name  text,
    action    text        NOT NULL,
    resource  text        NOT NULL,
    record_id uuid        NOT NULL,
    before    jsonb,
    after     jsonb,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_action_valid CHECK (action IN ('create', 'update', 'delete'))
);

CREATE INDEX audit_log_record_idx ON audit_log (record_id, id DESC);
CREATE INDEX audit_log_key_idx ON audit_log (key_name, id DESC);

-- Statement-level triggers with transition tables: one set-based INSERT into the trail per
-- write statement, so a batch of a thousand sightings costs one extra statement, not a thousand.
-- The writer is the transaction's `narratives.actor` setting when one is set (deletions and
-- revocations, whose rows cannot say), else the row's own updated_by / reported_by / created_by.

CREATE FUNCTION audit_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (key_name, action, resource, record_id, after)
    SELECT coalesce(nullif(current_setting('narratives.actor', true), ''),
                    to_jsonb(n) ->> 'reported_by', to_jsonb(n) ->> 'created_by'),
           'create', TG_ARGV[0], n.id, to_jsonb(n) - 'key_hash'
      FROM new_rows n;
    RETURN NULL;
END;
$$;

CREATE FUNCTION audit_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (key_name, action, resource, record_id, before, after)
    SELECT coalesce(nullif(current_setting('narratives.actor', true), ''),
                    to_jsonb(n) ->> 'updated_by'),
           'update', TG_ARGV[0], n.id, to_jsonb(o) - 'key_hash', to_jsonb(n) - 'key_hash'
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE to_jsonb(o) - 'last_used_at' IS DISTINCT FROM to_jsonb(n) - 'last_used_at';
    RETURN NULL;
END;
$$;

CREATE FUNCTION audit_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (key_name, action, resource, record_id, before)
    SELECT nullif(current_setting('narratives.actor', true), ''), 'delete', TG_ARGV[0], o.id,
           to_jsonb(o) - 'key_hash'
      FROM old_rows o;
    RETURN NULL;
END;
$$;

CREATE TRIGGER narratives_audit_insert AFTER INSERT ON narratives
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_created('narrative');
CREATE TRIGGER narratives_audit_update AFTER UPDATE ON narratives
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_updated('narrative');
CREATE TRIGGER narratives_audit_delete AFTER DELETE ON narratives
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_deleted('narrative');

CREATE TRIGGER sightings_audit_insert AFTER INSERT ON sightings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_created('sighting');
CREATE TRIGGER sightings_audit_update AFTER UPDATE ON sightings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_updated('sighting');
CREATE TRIGGER sightings_audit_delete AFTER DELETE ON sightings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_deleted('sighting');

CREATE TRIGGER rebuttals_audit_insert AFTER INSERT ON rebuttals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_created('rebuttal');
CREATE TRIGGER rebuttals_audit_update AFTER UPDATE ON rebuttals
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_updated('rebuttal');
CREATE TRIGGER rebuttals_audit_delete AFTER DELETE ON rebuttals
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_deleted('rebuttal');

CREATE TRIGGER api_keys_audit_insert AFTER INSERT ON api_keys
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_created('key');
CREATE TRIGGER api_keys_audit_update AFTER UPDATE ON api_keys
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_updated('key');
