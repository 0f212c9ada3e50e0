-- The change feed reads the audit trail in the order transactions became visible. Ids alone
-- cannot give that order: a long transaction takes its ids early and commits late, so a reader
-- paging by id would pass over its rows before they are visible and never come back. Each row
-- therefore carries its writing transaction's id; the feed returns only rows of transactions
-- older than the reader's snapshot xmin (certainly finished, so a row is either visible now or
-- never will be) and pages by (xid, id). A transaction that starts later always gets a larger
-- xid than any before it, so nothing can appear behind a cursor.
--
-- pg_current_xact_id() is the top-level transaction's id even inside a savepoint, so the rows
-- of one request share it. Existing rows take the migrating transaction's id: all of them come
-- before anything written after the migration.
ALTER TABLE audit_log ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- The feed's keyset.
CREATE INDEX audit_log_xid_idx ON audit_log (xid, id);
