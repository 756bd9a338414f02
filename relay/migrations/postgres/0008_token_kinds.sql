-- Token kinds (R10, R11; issue 21 item 4): a credential is provisioned as a `push` token
-- (one-push approvals and codes) or an `otp` token (codes only, such as a PC token), and
-- a binding keeps the kind of the credential it was enrolled with, so the challenge
-- gate's one binding read tells whether the user may be pushed at all. Rows from before
-- are push tokens.
ALTER TABLE credentials ADD COLUMN kind TEXT NOT NULL DEFAULT 'push' CHECK (kind IN ('push', 'otp'));
ALTER TABLE bindings ADD COLUMN kind TEXT NOT NULL DEFAULT 'push' CHECK (kind IN ('push', 'otp'));
