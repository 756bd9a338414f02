-- OTP login (R10, R11): a user whose token is a code token (binding kind `otp`) types a
-- one-time code after the password. The session remembers whose password was right
-- until the code is checked; `user_id` is set only then.
ALTER TABLE sessions ADD COLUMN otp_user_id TEXT;
