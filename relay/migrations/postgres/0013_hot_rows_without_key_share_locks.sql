-- The challenge and webhook inserts stop checking their foreign keys. Each check takes
-- a FOR KEY SHARE lock on the referenced row, so every challenge a bank creates locked
-- its one tenant row (and the credential's): under concurrent logins the row's lockers
-- became a MultiXact, written to disk, on the hottest row of the database.
--
-- The references still hold, by the statements that write them:
-- * a challenge is inserted only by the statement that locks its user's binding and finds
--   it bound to the challenge's credential (relay/src/store/sql/challenges.rs); the binding
--   keeps its own foreign keys to the tenant and the credential;
-- * a webhook is inserted only by the statement that ends one of its tenant's challenges;
-- * tenants are never deleted, and a credential only by the sweep, which deletes only
--   credentials with no binding and no challenge.
ALTER TABLE challenges DROP CONSTRAINT challenges_tenant_id_fkey;
ALTER TABLE challenges DROP CONSTRAINT challenges_credential_id_fkey;
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_tenant_id_fkey;
