-- usermgmt schema, version 1: users, sessions, refresh tokens, login-failure counters.

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL CHECK (length(email) <= 254),
    name          text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    role          text        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    is_active     boolean     NOT NULL DEFAULT true,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz
);

-- One live account per address, whatever its letter case: the database settles races.
CREATE UNIQUE INDEX users_live_email_key ON users (lower(email)) WHERE deleted_at IS NULL;
-- Deleted accounts by address, newest deletion first (operators restore by email).
CREATE INDEX users_deleted_email_idx ON users (lower(email), deleted_at DESC)
    WHERE deleted_at IS NOT NULL;
-- Creation order, for offset pages and keyset cursors: live users, and everybody.
CREATE INDEX users_live_order_idx ON users (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX users_order_idx ON users (created_at, id);
-- The "last active admin" rule locks exactly these rows.
CREATE INDEX users_active_admins_idx ON users (id)
    WHERE role = 'admin' AND is_active AND deleted_at IS NULL;

-- Counts kept by statement-level triggers, so that a listing never counts the table.
CREATE TABLE user_counts (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    total     bigint  NOT NULL,
    live      bigint  NOT NULL
);
INSERT INTO user_counts (singleton, total, live) VALUES (true, 0, 0);

CREATE FUNCTION user_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts SET
        total = total + (SELECT count(*) FROM new_rows),
        live = live + (SELECT count(*) FROM new_rows WHERE deleted_at IS NULL);
    RETURN NULL;
END $$;

CREATE FUNCTION user_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta bigint;
BEGIN
    delta := (SELECT count(*) FROM new_rows WHERE deleted_at IS NULL)
           - (SELECT count(*) FROM old_rows WHERE deleted_at IS NULL);
    IF delta <> 0 THEN
        UPDATE user_counts SET live = live + delta;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION user_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts SET
        total = total - (SELECT count(*) FROM old_rows),
        live = live - (SELECT count(*) FROM old_rows WHERE deleted_at IS NULL);
    RETURN NULL;
END $$;

CREATE TRIGGER users_counted_on_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_after_insert();
CREATE TRIGGER users_counted_on_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_after_update();
CREATE TRIGGER users_counted_on_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_after_delete();
-- TRUNCATE bypasses row triggers; keep the counts true for it too.
CREATE FUNCTION user_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts SET total = 0, live = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER users_counted_on_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_after_truncate();

CREATE TABLE sessions (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_live_by_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Only the SHA-256 of each refresh token is stored; spent ones stay to detect reuse.
CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    spent_at   timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Consecutive failed logins per (account, client) and per account; keys are digests.
CREATE TABLE login_failures (
    key             text        PRIMARY KEY,
    failures        integer     NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL
);
CREATE INDEX login_failures_age_idx ON login_failures (last_failure_at);
