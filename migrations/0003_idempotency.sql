-- Idempotency-Key: the first response to a POST, replayed to retries that carry the same key.

CREATE TABLE idempotency_keys (
    key_name        text        NOT NULL,
    idempotency_key text        NOT NULL,
    method          text        NOT NULL,
    path            text        NOT NULL,
    request_hash    text        NOT NULL,
    status          integer,
    headers         jsonb,
    body            text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key_name, idempotency_key),
    CONSTRAINT idempotency_keys_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 255)
);

-- For purging entries past their retention.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
