-- usermgmt schema, version 14: TOTP and recovery codes as second factors.
--
-- Whether login asks for a second factor is a column of the users row, set in the
-- transaction that confirms or removes the factor: every authenticated read and every
-- login reads that row already, so the user shape's mfa_enabled costs no query.
ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false;

-- One TOTP key per user, pending or confirmed: a new enrolment replaces a pending one.
-- Its data holds {"confirmed": bool, "last_step": int | null}; a code is accepted by a
-- compare-and-set on last_step, so one code used twice at once succeeds once.
CREATE UNIQUE INDEX credentials_totp_key ON credentials (user_id) WHERE kind = 'totp';
