-- usermgmt schema, version 9: the append-only audit log.
--
-- A use case writes its audit rows in the transaction of the change they record
-- (with the change's events); a failure, which changes nothing, writes its own.
-- Rows are never changed: a trigger refuses every UPDATE, and every DELETE but
-- the retention purge's, which first sets the transaction-local flag
-- usermgmt.audit_purge (SET LOCAL: it ends with the transaction, so it also
-- holds through a pooler in transaction mode). TRUNCATE, an owner's privilege,
-- is left to whoever owns the database.
CREATE TABLE audit_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text        NOT NULL,
    outcome    text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    actor_id   uuid,
    user_id    uuid,
    session_id uuid,
    ip         text,
    user_agent text,
    request_id text,
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb
);
-- Keyset pages newest first, each index scanned backwards from a (at, id) row
-- comparison: the whole log (and the purge), one account's rows, one type's rows.
CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, at, id);
CREATE INDEX audit_events_type_idx ON audit_events (type, at, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('usermgmt.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
