-- Failed enrollments count per credential (issue 22, item 10).

-- Enrollment attempts counted against this credential since its last lock or successful
-- enrollment; at the threshold the credential cannot be enrolled until
-- `enroll_locked_until` (Unix seconds).
ALTER TABLE credentials ADD COLUMN enroll_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN enroll_locked_until BIGINT;
