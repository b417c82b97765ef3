-- usermgmt schema, version 4: device tokens, and login counters reserved before verification.

-- Devices that signed in before (OWASP's device cookie): a login that presents one is
-- exempt from the per-account throttle ceiling. Only the SHA-256 of each token is stored.
CREATE TABLE device_tokens (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
-- A password change, deactivation or deletion forgets a user's devices.
CREATE INDEX device_tokens_user_idx ON device_tokens (user_id);
-- Expired tokens are purged by expiry time.
CREATE INDEX device_tokens_expiry_idx ON device_tokens (expires_at);

-- A login attempt is now counted before its password is verified, under locks on rows
-- that exist: a counter may hold zero failures, and remembers the failure before the
-- latest one, to restore it when an attempt that could not be verified is released.
-- Every counter names its account (a digest too), so that a password change clears
-- them all; counters from before this version have none and expire within a day.
ALTER TABLE login_failures
    DROP CONSTRAINT login_failures_failures_check,
    ADD CONSTRAINT login_failures_failures_check CHECK (failures >= 0),
    ADD COLUMN account text,
    ADD COLUMN previous_failure_at timestamptz;
CREATE INDEX login_failures_account_idx ON login_failures (account);
