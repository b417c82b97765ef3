-- usermgmt schema, version 8: one-time tokens.
--
-- The tokens of mail links (email verification, email change, password reset) and of
-- login challenges. Only the SHA-256 of each token is stored; a user holds at most one
-- live token per purpose, so that issuing a newer one voids the older in one statement.
CREATE TABLE one_time_tokens (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL
                           CHECK (purpose IN ('verify_email', 'change_email', 'reset_password',
                                              'login_challenge')),
    -- What the token carries beyond its user (the new address of an email change).
    data       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
-- One live token per user and purpose; also how a password change finds a user's tokens.
CREATE UNIQUE INDEX one_time_tokens_user_purpose_key ON one_time_tokens (user_id, purpose);
-- Expired tokens are purged by expiry time.
CREATE INDEX one_time_tokens_expiry_idx ON one_time_tokens (expires_at);
