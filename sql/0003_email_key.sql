-- usermgmt schema, version 3: emails are unique and looked up by their NFKC_Casefold key.
--
-- lower() is not Unicode's case folding: 'ΟΔΥΣΣΕΑΣ@example.gr' and 'οδυσσεασ@example.gr'
-- (final sigma), or 'ﬁle@…' and 'file@…', were two accounts. PostgreSQL has no full case
-- folding, so the key is computed by usermgmt and stored beside the address.

ALTER TABLE users ADD COLUMN email_key text;

-- usermgmt:data-step
-- Fills email_key for every existing row, in batches, and refuses the migration (changing
-- nothing) when live users collide under the new key.

ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;

-- One live account per key: the database settles races.
DROP INDEX users_live_email_key;
CREATE UNIQUE INDEX users_live_email_key ON users (email_key) WHERE deleted_at IS NULL;
-- Deleted accounts by key, newest deletion first (operators restore by email).
DROP INDEX users_deleted_email_idx;
CREATE INDEX users_deleted_email_idx ON users (email_key, deleted_at DESC)
    WHERE deleted_at IS NOT NULL;
