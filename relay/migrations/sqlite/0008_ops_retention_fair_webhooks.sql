-- Fair webhooks, sealed webhook secrets, audit paging on an index, retention (issue 22).

-- Webhook secrets sealed with the master key (AES-256-GCM, associated data: the tenant).
-- A migration cannot seal (it has no key): the relay seals every clear secret at start
-- (`Service::seal_clear_webhook_secrets`) and clears `webhook_secret`.
ALTER TABLE tenants ADD COLUMN webhook_secret_sealed BLOB;

-- Round-robin claims: a tenant's due messages, oldest first.
CREATE INDEX webhook_outbox_due_by_tenant ON webhook_outbox (tenant_id, next_attempt_at)
    WHERE state = 'pending';
-- The global claim order now serves only the old claim_webhooks (tests); the per-tenant
-- index above serves it too. One index fewer to write per queued message.
DROP INDEX webhook_outbox_due;
-- Retention: delivered and given-up messages, by their last attempt.
CREATE INDEX webhook_outbox_ended ON webhook_outbox (next_attempt_at) WHERE state <> 'pending';

-- A tenant's whole log, paged by seq (the query without user_id). With user_id the
-- existing audit_by_tenant_user (tenant_id, user_id, seq) serves.
CREATE INDEX audit_by_tenant ON audit_events (tenant_id, seq);

-- Retention: idempotency keys go in the order of their challenge (UUIDv7: creation order).
CREATE INDEX idempotency_keys_by_challenge ON idempotency_keys (challenge_id);

-- Retention jobs are claimed once across relays: one lease row per job.
CREATE TABLE retention_leases (
    job    TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    held_until  INTEGER NOT NULL
);

-- Audit events stay append-only, except that retention may delete events older than the
-- bound it recorded here (in the same transaction as the delete).
CREATE TABLE audit_retention (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    delete_before INTEGER NOT NULL
);
INSERT INTO audit_retention (id, delete_before) VALUES (1, 0);
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.at >= (SELECT delete_before FROM audit_retention WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
-- The bound only moves forward.
CREATE TRIGGER audit_retention_forward BEFORE UPDATE ON audit_retention
WHEN NEW.delete_before < OLD.delete_before
BEGIN SELECT RAISE(ABORT, 'the audit retention bound only moves forward'); END;
