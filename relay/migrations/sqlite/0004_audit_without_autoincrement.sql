-- One page fewer per audited write (issue 8).
--
-- AUTOINCREMENT made every audit insert also update sqlite_sequence (one more WAL page per
-- commit that audits, two per challenge). It only differs from a plain INTEGER PRIMARY KEY
-- (new seq = largest + 1) after the largest row is deleted, and audit events are never
-- deleted (the triggers below refuse it): seq stays increasing and is never reused.
CREATE TABLE audit_events_new (
    seq           INTEGER PRIMARY KEY,
    tenant_id     TEXT,
    at            INTEGER NOT NULL,
    event         TEXT NOT NULL,
    user_id       TEXT,
    credential_id TEXT,
    challenge_id  TEXT,
    detail        TEXT NOT NULL
);
INSERT INTO audit_events_new (seq, tenant_id, at, event, user_id, credential_id, challenge_id, detail)
    SELECT seq, tenant_id, at, event, user_id, credential_id, challenge_id, detail FROM audit_events;
-- Dropping the table drops its index and triggers (an implicit delete fires no trigger).
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_by_tenant_user ON audit_events (tenant_id, user_id, seq);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
DELETE FROM sqlite_sequence WHERE name = 'audit_events';
