-- Fair webhooks, sealed webhook secrets, audit paging on an index, retention (issue 22).

-- Webhook secrets sealed with the master key (AES-256-GCM, associated data: the tenant).
-- A migration cannot seal (it has no key): the relay seals every clear secret at start
-- (`Service::seal_clear_webhook_secrets`) and clears `webhook_secret`.
ALTER TABLE tenants ADD COLUMN webhook_secret_sealed BYTEA;

-- Round-robin claims: a tenant's due messages, oldest first.
CREATE INDEX webhook_outbox_due_by_tenant ON webhook_outbox (tenant_id, next_attempt_at)
    WHERE state = 'pending';
DROP INDEX webhook_outbox_due;
-- Retention: delivered and given-up messages, by their last attempt.
CREATE INDEX webhook_outbox_ended ON webhook_outbox (next_attempt_at) WHERE state <> 'pending';

-- A tenant's whole log, paged by seq (the query without user_id).
CREATE INDEX audit_by_tenant ON audit_events (tenant_id, seq);

-- Retention: idempotency keys go in the order of their challenge (UUIDv7: creation order).
CREATE INDEX idempotency_keys_by_challenge ON idempotency_keys (challenge_id);

-- Retention jobs are claimed once across relays: one lease row per job.
CREATE TABLE retention_leases (
    job    TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    held_until  BIGINT NOT NULL
);

-- Audit events stay append-only, except that retention may delete events older than the
-- bound it recorded here (in the same transaction as the delete).
CREATE TABLE audit_retention (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    delete_before BIGINT NOT NULL
);
INSERT INTO audit_retention (id, delete_before) VALUES (1, 0);

CREATE OR REPLACE FUNCTION onepush_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < (SELECT delete_before FROM audit_retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END
$$;

CREATE FUNCTION onepush_audit_retention_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.delete_before < OLD.delete_before THEN
        RAISE EXCEPTION 'the audit retention bound only moves forward';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_retention_forward BEFORE UPDATE ON audit_retention
    FOR EACH ROW EXECUTE FUNCTION onepush_audit_retention_forward();
