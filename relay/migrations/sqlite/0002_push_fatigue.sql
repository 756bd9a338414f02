-- Push fatigue by history (issue 9) and the number-matching retry limit (F3).

-- Per tenant: after this many challenges of one user ended denied or expired unanswered
-- within the window (and no approval since), new challenges are refused. 0 = off.
ALTER TABLE tenants ADD COLUMN push_fatigue_threshold INTEGER NOT NULL DEFAULT 5;
ALTER TABLE tenants ADD COLUMN push_fatigue_window_seconds INTEGER NOT NULL DEFAULT 900;

-- Wrong numbers typed for a challenge (it ends denied at the limit).
ALTER TABLE challenges ADD COLUMN number_misses INTEGER NOT NULL DEFAULT 0;

-- The push-fatigue count: a user's ended challenges by status and end time.
CREATE INDEX challenges_by_user_decided ON challenges (tenant_id, user_id, status, decided_at);
