-- Fewer pages written per lifecycle (issue 8).

-- (tenant_id, user_id, status) is a prefix of challenges_by_user_decided: every query it
-- served uses that index as well, and each challenge insert and status change kept both.
DROP INDEX challenges_by_user;

-- A proof's jti is only ever looked up by itself: keep the rows in the key's b-tree
-- (WITHOUT ROWID) instead of a rowid table plus a separate unique index on jti.
CREATE TABLE proof_jtis_new (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO proof_jtis_new (jti, expires_at) SELECT jti, expires_at FROM proof_jtis;
DROP TABLE proof_jtis;
ALTER TABLE proof_jtis_new RENAME TO proof_jtis;
CREATE INDEX proof_jtis_by_expiry ON proof_jtis (expires_at);
