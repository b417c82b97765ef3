-- usermgmt schema, version 11: what a user sees of their sessions, and the index that lists them.
--
-- Each session remembers when it was last used (its start, then each refresh: reads
-- with its access tokens never write), the client address and User-Agent it was started
-- from, and how the user was authenticated (RFC 8176 method names). Sessions of an
-- earlier version upgrade in place: address and agent unknown, signed in with a password,
-- last used when they began.
ALTER TABLE sessions
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN ip           text CHECK (length(ip) <= 128),
    ADD COLUMN user_agent   text CHECK (length(user_agent) <= 512),
    ADD COLUMN amr          text[] NOT NULL DEFAULT '{pwd}' CHECK (cardinality(amr) BETWEEN 1 AND 8);
UPDATE sessions SET last_used_at = created_at;
ALTER TABLE sessions
    ALTER COLUMN last_used_at SET NOT NULL,
    ALTER COLUMN amr DROP DEFAULT;

-- A user's live sessions, newest first, straight from the index; sign-out everywhere
-- (by user among the unrevoked) uses it too, so it replaces the index on user_id alone.
CREATE INDEX sessions_live_by_user_created_idx ON sessions (user_id, created_at DESC, id DESC)
    WHERE revoked_at IS NULL;
DROP INDEX sessions_live_by_user_idx;
