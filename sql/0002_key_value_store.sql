-- usermgmt schema, version 2: a small key-value store shared by every instance.
--
-- Holds the HTTP face's per-client rate-limit windows (Litestar's Store interface).
-- UNLOGGED: the data is short-lived and cheap to lose, so it skips the write-ahead
-- log; a crash empties the table (every client starts a fresh window) and standbys
-- do not carry it.

CREATE UNLOGGED TABLE key_value_store (
    namespace  text        NOT NULL,
    key        text        NOT NULL,
    value      bytea       NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (namespace, key)
);
-- Expired entries are swept by expiry time.
CREATE INDEX key_value_store_expiry_idx ON key_value_store (expires_at)
    WHERE expires_at IS NOT NULL;
