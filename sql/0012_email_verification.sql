-- usermgmt schema, version 12: whether a user's address is verified, and an email change
-- waiting for its confirmation.
--
-- Users of an earlier version count as verified: they signed up before the service asked,
-- and a deployment that turns on USERMGMT_EMAIL_VERIFICATION=required must not lock every
-- one of them out. The default true fills existing rows without rewriting the table; new
-- rows then default to unverified.
ALTER TABLE users
    ADD COLUMN email_verified boolean NOT NULL DEFAULT true,
    ADD COLUMN pending_email  text CHECK (length(pending_email) <= 254);
ALTER TABLE users ALTER COLUMN email_verified SET DEFAULT false;
