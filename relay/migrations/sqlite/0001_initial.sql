-- OnePush relay schema (SQLite). Times are Unix seconds.

CREATE TABLE tenants (
    id                 TEXT PRIMARY KEY,
    display_name       TEXT NOT NULL,
    api_key_hash       BLOB NOT NULL UNIQUE,
    webhook_url        TEXT,
    webhook_secret     TEXT,
    otp_lock_threshold INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
);

CREATE TABLE credentials (
    id                 TEXT PRIMARY KEY,
    jwk                TEXT NOT NULL,
    totp_secret        BLOB NOT NULL,
    push_subscription  TEXT,
    last_used_step     INTEGER,
    revoked_at         INTEGER,
    created_at         INTEGER NOT NULL
);

CREATE TABLE bindings (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL,
    credential_id TEXT NOT NULL REFERENCES credentials(id),
    state         TEXT NOT NULL,
    lock_reason   TEXT,
    grace_until   INTEGER,
    failures      INTEGER NOT NULL DEFAULT 0,
    drift_steps   INTEGER NOT NULL DEFAULT 0,
    enrolled_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX bindings_by_credential ON bindings (credential_id);

CREATE TABLE challenges (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT NOT NULL,
    credential_id  TEXT NOT NULL REFERENCES credentials(id),
    kind           TEXT NOT NULL,
    context        TEXT NOT NULL,
    number         INTEGER,
    nonce          TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    decided_at     INTEGER,
    reached_device INTEGER NOT NULL DEFAULT 0,
    decision       TEXT
);
CREATE INDEX challenges_pending_by_deadline ON challenges (expires_at) WHERE status = 'pending';
CREATE INDEX challenges_by_credential ON challenges (credential_id, status);
CREATE INDEX challenges_by_user ON challenges (tenant_id, user_id, status);

CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  BLOB NOT NULL,
    challenge_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE proof_jtis (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX proof_jtis_by_expiry ON proof_jtis (expires_at);

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT,
    at            INTEGER NOT NULL,
    event         TEXT NOT NULL,
    user_id       TEXT,
    credential_id TEXT,
    challenge_id  TEXT,
    detail        TEXT NOT NULL
);
CREATE INDEX audit_by_tenant_user ON audit_events (tenant_id, user_id, seq);

-- Append-only: refuse changes to recorded events.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE webhook_outbox (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    body            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
