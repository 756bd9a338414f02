-- Offline codes (issue 24 item 4, RFC 6287 OCRA): a per-credential OCRA key, sealed with
-- the master key like the TOTP secret (associated data: the credential ID and "#ocra").
-- Credentials provisioned before this migration have none: offline codes are refused for
-- them until the app is set up again.
ALTER TABLE credentials ADD COLUMN ocra_key BLOB;

-- An offline challenge: the question a bank's QR payload asks, answered once.
CREATE TABLE offline_challenges (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT NOT NULL,
    credential_id  TEXT NOT NULL REFERENCES credentials(id),
    kind           TEXT NOT NULL,
    context        TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX offline_challenges_by_deadline ON offline_challenges (expires_at);
