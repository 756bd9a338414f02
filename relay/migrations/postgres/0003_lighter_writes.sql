-- (tenant_id, user_id, status) is a prefix of challenges_by_user_decided: every query it
-- served uses that index as well, and each challenge insert and status change kept both.
DROP INDEX challenges_by_user;
