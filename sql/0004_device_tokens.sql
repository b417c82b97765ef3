-- usermgmt schema, version 4: login counters reserved before verification (device tokens follow).

-- A login attempt is now counted before its password is verified, under locks on rows
-- that exist: a counter may hold zero failures, and remembers the failure before the
-- latest one, to restore it when an attempt that could not be verified is released.
-- Every counter names its account (a digest too); counters from before this version
-- have none and expire within a day.
ALTER TABLE login_failures
    DROP CONSTRAINT login_failures_failures_check,
    ADD CONSTRAINT login_failures_failures_check CHECK (failures >= 0),
    ADD COLUMN account text,
    ADD COLUMN previous_failure_at timestamptz;
CREATE INDEX login_failures_account_idx ON login_failures (account);
