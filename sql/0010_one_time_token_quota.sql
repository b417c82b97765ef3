-- usermgmt schema, version 10: how often each user's one-time tokens were issued.
--
-- A mailed link may be sent at most once a minute and five times an hour per user and
-- purpose. The row of a user's live token keeps when its current hour began and how
-- many tokens were issued in it, so that issuing checks and counts in one statement.
ALTER TABLE one_time_tokens
    ADD COLUMN window_started_at timestamptz,
    ADD COLUMN issued_in_window  integer NOT NULL DEFAULT 1 CHECK (issued_in_window > 0);
UPDATE one_time_tokens SET window_started_at = issued_at;
ALTER TABLE one_time_tokens ALTER COLUMN window_started_at SET NOT NULL;
