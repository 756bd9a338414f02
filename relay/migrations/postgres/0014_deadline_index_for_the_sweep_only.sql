-- The pending challenges by deadline, for the deadline sweep only (relay/src/store/sql/
-- challenges.rs, OVERDUE: the one statement that says `decided_at IS NULL`, which a
-- pending challenge always has). With `status = 'pending'` alone as its condition, every
-- statement looking for a pending challenge could use this index, and PostgreSQL did
-- whenever its statistics saw few challenges pending (or none: a database not analysed
-- yet): a decision's end, a wrong number, a credential's pending prompts and a user's
-- pending count then scanned every pending challenge (10 ms at 20,000 pending instead of
-- 0.05 ms by key), until the next ANALYZE. They now find theirs by key, credential or
-- user, whatever the statistics say. Building the index reads the table once.
DROP INDEX challenges_pending_by_deadline;
CREATE INDEX challenges_pending_by_deadline ON challenges (expires_at)
    WHERE status = 'pending' AND decided_at IS NULL;
