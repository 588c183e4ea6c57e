-- A tamper-evident audit trail: every event holds the hash of the one before it in its
-- chain (one chain per study, one for events about no study), and its own hash over its
-- content and that link. Changing, removing or inserting an event after the fact breaks the
-- chain where it happened (`radraft-review audit verify` finds the first break). The heads
-- table holds each chain's last hash, so removing the newest events is seen too.
--
-- The hash is over this canonical text, one field per line, in UTF-8:
--   id, the time in microseconds since 1970 (UTC), actor, kind, study UID ('' if none),
--   detail as Postgres prints jsonb
-- and hash = sha256(previous hash || canonical text); the first event's previous hash is
-- empty. services/store/src/audit_chain.rs computes the same to verify.

CREATE TABLE audit_chain_heads (
    -- The study UID, or '' for events about no study.
    chain  TEXT PRIMARY KEY,
    head   BYTEA NOT NULL
);

ALTER TABLE audit_events
    ADD COLUMN prev_hash BYTEA,
    ADD COLUMN hash BYTEA;

CREATE FUNCTION audit_event_canonical(
    id BIGINT, at TIMESTAMPTZ, actor TEXT, kind TEXT, study_uid TEXT, detail JSONB
) RETURNS BYTEA LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(
        id::text || E'\n' || (extract(epoch FROM at) * 1000000)::bigint::text || E'\n'
        || actor || E'\n' || kind || E'\n' || coalesce(study_uid, '') || E'\n' || detail::text,
        'UTF8')
$$;

-- Links a new event to its chain. The chain's head row is locked until the transaction
-- ends, so events of one chain are linked in commit order; every writer already holds the
-- study's row when it appends, so this adds no new lock order.
CREATE FUNCTION audit_events_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous BYTEA;
BEGIN
    INSERT INTO audit_chain_heads (chain, head) VALUES (coalesce(NEW.study_uid, ''), ''::bytea)
        ON CONFLICT (chain) DO NOTHING;
    SELECT head INTO previous FROM audit_chain_heads
        WHERE chain = coalesce(NEW.study_uid, '') FOR UPDATE;
    NEW.prev_hash := previous;
    NEW.hash := sha256(previous || audit_event_canonical(
        NEW.id, NEW.at, NEW.actor, NEW.kind, NEW.study_uid, NEW.detail));
    UPDATE audit_chain_heads SET head = NEW.hash WHERE chain = coalesce(NEW.study_uid, '');
    RETURN NEW;
END;
$$;

-- Events written before the chain existed are linked in id order.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
DO $$
DECLARE
    event RECORD;
    previous BYTEA;
    linked BYTEA;
BEGIN
    FOR event IN SELECT * FROM audit_events ORDER BY id LOOP
        SELECT head INTO previous FROM audit_chain_heads
            WHERE chain = coalesce(event.study_uid, '');
        IF NOT FOUND THEN
            previous := ''::bytea;
            INSERT INTO audit_chain_heads (chain, head)
                VALUES (coalesce(event.study_uid, ''), previous);
        END IF;
        linked := sha256(previous || audit_event_canonical(
            event.id, event.at, event.actor, event.kind, event.study_uid, event.detail));
        UPDATE audit_events SET prev_hash = previous, hash = linked WHERE id = event.id;
        UPDATE audit_chain_heads SET head = linked
            WHERE chain = coalesce(event.study_uid, '');
    END LOOP;
END;
$$;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;

ALTER TABLE audit_events
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER audit_events_link BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_link();
