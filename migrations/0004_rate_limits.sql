-- Per-key request counts per minute, shared by every worker and replica. UNLOGGED: counters are
-- worth nothing after a crash, and skipping the WAL keeps the per-request upsert cheap.

CREATE UNLOGGED TABLE rate_limit_windows (
    key_name     text        NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer     NOT NULL,
    CONSTRAINT rate_limit_windows_pkey PRIMARY KEY (key_name, window_start)
);
