-- usermgmt schema, version 6: the transactional outbox of domain events.
--
-- A use case inserts its events in the transaction of the change they describe
-- (a failed login, which changes nothing, inserts its own). The dispatcher of any
-- instance claims due rows with FOR UPDATE SKIP LOCKED and leases them by moving
-- available_at ahead; delivered rows are purged a day later, failed ones are kept.
CREATE TABLE event_outbox (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    available_at timestamptz NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    delivered_at timestamptz,
    failed_at    timestamptz,
    last_error   text
);
-- The claim: pending rows that are due, oldest first; the index holds only pending rows.
CREATE INDEX event_outbox_due_idx ON event_outbox (available_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- The purge of delivered rows.
CREATE INDEX event_outbox_delivered_idx ON event_outbox (delivered_at)
    WHERE delivered_at IS NOT NULL;
