-- The audit trail also records the lists kept beside their parents (a narrative's aliases, a
-- rebuttal's narratives), one entry per parent and statement, and no longer records updates
-- that changed nothing but the bookkeeping columns (an empty PATCH, a key's last use).

CREATE OR REPLACE FUNCTION audit_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (key_name, action, resource, record_id, before, after)
    SELECT coalesce(nullif(current_setting('narratives.actor', true), ''),
                    to_jsonb(n) ->> 'updated_by'),
           'update', TG_ARGV[0], n.id, to_jsonb(o) - 'key_hash', to_jsonb(n) - 'key_hash'
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE to_jsonb(o) - 'last_used_at' - 'updated_at' - 'updated_by'
           IS DISTINCT FROM to_jsonb(n) - 'last_used_at' - 'updated_at' - 'updated_by';
    RETURN NULL;
END;
$$;

-- TG_ARGV: resource name, the column naming the parent, the parent table (for who wrote).
CREATE FUNCTION audit_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format(
            $q$INSERT INTO audit_log (key_name, action, resource, record_id, after)
               SELECT coalesce(nullif(current_setting('narratives.actor', true), ''),
                               p.updated_by),
                      'create', %L, c.parent, jsonb_agg(c.child)
                 FROM (SELECT (to_jsonb(r) ->> %L)::uuid AS parent, to_jsonb(r) - %L AS child
                         FROM new_rows r) c
                 LEFT JOIN %I p ON p.id = c.parent
                GROUP BY c.parent, p.updated_by$q$,
            TG_ARGV[0], TG_ARGV[1], TG_ARGV[1], TG_ARGV[2]);
    ELSE
        EXECUTE format(
            $q$INSERT INTO audit_log (key_name, action, resource, record_id, before)
               SELECT coalesce(nullif(current_setting('narratives.actor', true), ''),
                               p.updated_by),
                      'delete', %L, c.parent, jsonb_agg(c.child)
                 FROM (SELECT (to_jsonb(r) ->> %L)::uuid AS parent, to_jsonb(r) - %L AS child
                         FROM old_rows r) c
                 LEFT JOIN %I p ON p.id = c.parent
                GROUP BY c.parent, p.updated_by$q$,
            TG_ARGV[0], TG_ARGV[1], TG_ARGV[1], TG_ARGV[2]);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER narrative_aliases_audit_insert AFTER INSERT ON narrative_aliases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION audit_children('narrative_aliases', 'narrative_id', 'narratives');
CREATE TRIGGER narrative_aliases_audit_delete AFTER DELETE ON narrative_aliases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION audit_children('narrative_aliases', 'narrative_id', 'narratives');
CREATE TRIGGER rebuttal_narratives_audit_insert AFTER INSERT ON rebuttal_narratives
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION audit_children('rebuttal_narratives', 'rebuttal_id', 'rebuttals');
CREATE TRIGGER rebuttal_narratives_audit_delete AFTER DELETE ON rebuttal_narratives
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION audit_children('rebuttal_narratives', 'rebuttal_id', 'rebuttals');
