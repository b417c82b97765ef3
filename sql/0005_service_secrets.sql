-- usermgmt schema, version 5: random keys the service makes for itself.
--
-- One row per purpose (today: the key that signs listing cursors), made by the
-- first instance that needs it and then read by every instance, so that what
-- one instance signs the others verify. The keys never leave the service.

CREATE TABLE service_secrets (
    purpose    text        PRIMARY KEY,
    secret     bytea       NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
