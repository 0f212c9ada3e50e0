-- Webhooks: admins' subscriptions, an outbox of messages to deliver, and a log of attempts.
--
-- The outbox is written by a trigger on the audit trail, so a message exists exactly when the
-- change that caused it commits: a change that rolls back takes its messages with it. The
-- worker (service/jobs/webhooks.py) is the only reader; it claims messages one at a time with
-- FOR UPDATE SKIP LOCKED and a lease, so several workers never send the same attempt.

CREATE TABLE webhook_subscriptions (
    id                         uuid        NOT NULL DEFAULT gen_random_uuid(),
    url                        text        NOT NULL,
    event_types                text[]      NOT NULL,
    narrative_id               uuid,
    enabled                    boolean     NOT NULL DEFAULT true,
    disabled_reason            text,
    -- HMAC keys must be kept in the clear to sign with; they never leave through the API
    -- after creation (or a rotation, which shows the new one once).
    secret                     text        NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    consecutive_failures       integer     NOT NULL DEFAULT 0,
    failing_since              timestamptz,
    created_by                 text,
    updated_by                 text,
    created_at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_subscriptions_url_length CHECK (length(url) BETWEEN 1 AND 2048),
    CONSTRAINT webhook_subscriptions_url_scheme CHECK (url ~* '^https?://'),
    CONSTRAINT webhook_subscriptions_event_types_valid CHECK (
        cardinality(event_types) BETWEEN 1 AND 4
        AND event_types <@ ARRAY['sighting.created', 'rebuttal.created', 'narrative.updated',
                                 'narrative.resighted_after_rebuttal']),
    CONSTRAINT webhook_subscriptions_narrative_fkey FOREIGN KEY (narrative_id)
        REFERENCES narratives (id),
    CONSTRAINT webhook_subscriptions_secret_format CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]+$')
);

CREATE TABLE webhook_messages (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid        NOT NULL,
    event_type      text        NOT NULL,
    record_id       uuid        NOT NULL,
    narrative_id    uuid,
    xid             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    occurred_at     timestamptz NOT NULL,
    -- Frozen before the first attempt, so every retry sends (and signs) the same bytes.
    body            text,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_token     uuid,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    CONSTRAINT webhook_messages_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_messages_subscription_fkey FOREIGN KEY (subscription_id)
        REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT webhook_messages_status_valid CHECK (status IN ('pending', 'delivered', 'failed')),
    -- One request that edits a narrative and its aliases is one narrative.updated.
    CONSTRAINT webhook_messages_once UNIQUE (subscription_id, xid, event_type, record_id)
);

CREATE INDEX webhook_messages_due_idx ON webhook_messages (next_attempt_at)
    WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    message_id      uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    attempted_at    timestamptz NOT NULL,
    status_code     integer,
    latency_ms      integer     NOT NULL,
    error           text,
    outcome         text        NOT NULL,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_attempts_message_fkey FOREIGN KEY (message_id)
        REFERENCES webhook_messages (id) ON DELETE CASCADE,
    CONSTRAINT webhook_attempts_subscription_fkey FOREIGN KEY (subscription_id)
        REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT webhook_attempts_outcome_valid CHECK (outcome IN ('delivered', 'retry', 'failed'))
);

CREATE INDEX webhook_attempts_subscription_idx
    ON webhook_attempts (subscription_id, attempted_at DESC, id DESC);
CREATE INDEX webhook_attempts_message_idx ON webhook_attempts (message_id);

-- From the audit rows of one statement to the outbox. Events:
--   sighting.created                     a sighting's create row
--   narrative.resighted_after_rebuttal   the same, when its narrative already has a rebuttal
--   rebuttal.created                     the links' create row in the rebuttal's own
--                                        transaction (the rebuttal row comes before its links,
--                                        and the narrative filter needs the links)
--   narrative.updated                    a narrative's update row (archiving included), or its
--                                        aliases replaced outside the transaction creating it
CREATE FUNCTION webhook_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_messages (subscription_id, event_type, record_id, narrative_id,
                                  occurred_at)
    SELECT s.id, e.type, e.record_id, e.narrative_id, e.at
      FROM (
            SELECT t.type, n.record_id, (n.after ->> 'narrative_id')::uuid AS narrative_id,
                   n.at, ARRAY[(n.after ->> 'narrative_id')::uuid] AS narratives
              FROM new_rows n
             CROSS JOIN LATERAL (
                   SELECT 'sighting.created' AS type
                    UNION ALL
                   SELECT 'narrative.resighted_after_rebuttal'
                    WHERE EXISTS (SELECT 1 FROM rebuttal_narratives rn
                                   WHERE rn.narrative_id = (n.after ->> 'narrative_id')::uuid)
                   ) t
             WHERE n.resource = 'sighting' AND n.action = 'create'
            UNION ALL
            SELECT 'rebuttal.created', n.record_id, NULL, n.at,
                   ARRAY(SELECT (c ->> 'narrative_id')::uuid FROM jsonb_array_elements(n.after) c)
              FROM new_rows n
             WHERE n.resource = 'rebuttal_narratives' AND n.action = 'create'
               AND EXISTS (SELECT 1 FROM audit_log a
                            WHERE a.record_id = n.record_id AND a.xid = n.xid
                              AND a.resource = 'rebuttal' AND a.action = 'create')
            UNION ALL
            SELECT 'narrative.updated', n.record_id, n.record_id, n.at, ARRAY[n.record_id]
              FROM new_rows n
             WHERE (n.resource = 'narrative' AND n.action = 'update')
                OR (n.resource = 'narrative_aliases'
                    AND NOT EXISTS (SELECT 1 FROM audit_log a
                                     WHERE a.record_id = n.record_id AND a.xid = n.xid
                                       AND a.resource = 'narrative' AND a.action = 'create'))
           ) e
      JOIN webhook_subscriptions s
        ON s.enabled AND e.type = ANY (s.event_types)
       AND (s.narrative_id IS NULL OR s.narrative_id = ANY (e.narratives))
        ON CONFLICT ON CONSTRAINT webhook_messages_once DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_log_webhooks AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_enqueue();
