-- OnePush relay schema (PostgreSQL). Times are Unix seconds (BIGINT), as in the SQLite
-- schema, so one set of queries serves both; every integer is BIGINT (Rust i64).

CREATE TABLE tenants (
    id                 TEXT PRIMARY KEY,
    display_name       TEXT NOT NULL,
    api_key_hash       BYTEA NOT NULL UNIQUE,
    webhook_url        TEXT,
    webhook_secret     TEXT,
    otp_lock_threshold BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);

CREATE TABLE credentials (
    id                 TEXT PRIMARY KEY,
    jwk                TEXT NOT NULL,
    totp_secret        BYTEA NOT NULL,
    push_subscription  TEXT,
    last_used_step     BIGINT,
    revoked_at         BIGINT,
    created_at         BIGINT NOT NULL
);

CREATE TABLE bindings (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL,
    credential_id TEXT NOT NULL REFERENCES credentials(id),
    state         TEXT NOT NULL,
    lock_reason   TEXT,
    grace_until   BIGINT,
    failures      BIGINT NOT NULL DEFAULT 0,
    drift_steps   BIGINT NOT NULL DEFAULT 0,
    enrolled_at   BIGINT NOT NULL,
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
    number         BIGINT,
    nonce          TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    reached_device BOOLEAN NOT NULL DEFAULT FALSE,
    decision       TEXT
);
CREATE INDEX challenges_pending_by_deadline ON challenges (expires_at) WHERE status = 'pending';
CREATE INDEX challenges_by_credential ON challenges (credential_id, status);
CREATE INDEX challenges_by_user ON challenges (tenant_id, user_id, status);

-- The primary key makes an idempotency key hold across relays.
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  BYTEA NOT NULL,
    challenge_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- The primary key makes a device proof seen by one relay a replay for every relay.
CREATE TABLE proof_jtis (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX proof_jtis_by_expiry ON proof_jtis (expires_at);

CREATE TABLE audit_events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     TEXT,
    at            BIGINT NOT NULL,
    event         TEXT NOT NULL,
    user_id       TEXT,
    credential_id TEXT,
    challenge_id  TEXT,
    detail        TEXT NOT NULL
);
CREATE INDEX audit_by_tenant_user ON audit_events (tenant_id, user_id, seq);

-- Append-only: refuse changes to recorded events.
CREATE FUNCTION onepush_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION onepush_audit_append_only();

CREATE TABLE webhook_outbox (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    body            BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
