-- usermgmt schema, version 13: passkey ceremonies in progress.
--
-- Each WebAuthn registration or sign-in hands the client a challenge and keeps it here
-- until the response that answers it spends it (one DELETE ... RETURNING: a replayed
-- response finds nothing) or it expires, five minutes on. A registration is bound to
-- the user who began it; a sign-in to nobody, since the credential names its account.
-- Logged, unlike the key-value store: a restart must not void the ceremonies in flight
-- while the service comes back.
CREATE TABLE webauthn_ceremonies (
    id         uuid        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('registration', 'authentication')),
    challenge  bytea       NOT NULL CHECK (length(challenge) >= 32),
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CHECK ((kind = 'registration') = (user_id IS NOT NULL))
);
-- Expired ceremonies are purged by expiry time.
CREATE INDEX webauthn_ceremonies_expiry_idx ON webauthn_ceremonies (expires_at);
-- The cascade when a user row is deleted.
CREATE INDEX webauthn_ceremonies_user_idx ON webauthn_ceremonies (user_id)
    WHERE user_id IS NOT NULL;
