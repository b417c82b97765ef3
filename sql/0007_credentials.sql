-- usermgmt schema, version 7: credentials apart from the user.
--
-- What a user signs in with moves out of the users row, which every authenticated
-- request reads, into a table of its own: a password now (the argon2id hash that was
-- users.password_hash), TOTP secrets, recovery codes and passkeys later, one row each.
CREATE TABLE credentials (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL
                             CHECK (kind IN ('password', 'totp', 'recovery_code', 'passkey')),
    -- What the client names the credential by, where it does: a passkey's credential ID.
    public_id    bytea,
    -- What the credential is checked against: a password's or a recovery code's hash,
    -- a TOTP key, a passkey's public key.
    secret       text        NOT NULL,
    -- What a kind keeps beyond that (a TOTP's last accepted step, a passkey's
    -- signature counter and name): an object, empty for a password.
    data         jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
-- One password per user, found by its user at login (joined to the users row) and at a
-- password change.
CREATE UNIQUE INDEX credentials_password_key ON credentials (user_id) WHERE kind = 'password';
-- A user's credentials of a kind (the factors to offer, the codes to check), and the
-- cascade when a user row is deleted.
CREATE INDEX credentials_user_kind_idx ON credentials (user_id, kind);
-- A passkey login finds its credential by the ID the authenticator presents.
CREATE UNIQUE INDEX credentials_public_id_key ON credentials (kind, public_id)
    WHERE public_id IS NOT NULL;

-- Every user's password moves, with the user's times: when the password last changed
-- was not recorded, and the user's last change is the latest it can have been.
INSERT INTO credentials (id, user_id, kind, secret, created_at, updated_at)
SELECT gen_random_uuid(), id, 'password', password_hash, created_at, updated_at FROM users;

ALTER TABLE users DROP COLUMN password_hash;
