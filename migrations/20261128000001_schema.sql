-- radraft's schema: what arrived (studies, series, instances), the study lifecycle and
-- its versions, jobs and drafts for the worker, and an append-only audit trail.
-- Only UIDs and technical metadata are stored here; patient data stays in the archived files.

CREATE TYPE study_state AS ENUM ('receiving', 'stable', 'queued', 'processing', 'drafted', 'failed');

CREATE TABLE studies (
    study_uid          TEXT PRIMARY KEY,
    state              study_state NOT NULL DEFAULT 'receiving',
    -- The last version cut by the quiet period; 0 until the study first settles.
    version            INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
    failure_reason     TEXT,
    first_received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((state = 'failed') = (failure_reason IS NOT NULL))
);
-- The settle loop scans receiving studies by age.
CREATE INDEX studies_receiving_idx ON studies (last_received_at) WHERE state = 'receiving';

CREATE TABLE series (
    series_uid  TEXT PRIMARY KEY,
    study_uid   TEXT NOT NULL REFERENCES studies (study_uid),
    modality    TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX series_study_idx ON series (study_uid);

-- One row per distinct object received. The same SOP instance UID with different bytes
-- is a new row with the next version; the earlier row is marked superseded, never lost.
CREATE TABLE instances (
    id                    BIGSERIAL PRIMARY KEY,
    sop_instance_uid      TEXT NOT NULL,
    sop_class_uid         TEXT NOT NULL,
    series_uid            TEXT NOT NULL REFERENCES series (series_uid),
    study_uid             TEXT NOT NULL REFERENCES studies (study_uid),
    instance_version      INTEGER NOT NULL DEFAULT 1 CHECK (instance_version >= 1),
    transfer_syntax_uid   TEXT NOT NULL,
    archive_key           TEXT NOT NULL,
    sha256                TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes            BIGINT NOT NULL CHECK (size_bytes > 0),
    calling_ae            TEXT,
    source                TEXT NOT NULL CHECK (source IN ('dimse', 'stow', 'orthanc')),
    received_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    superseded_at         TIMESTAMPTZ,
    UNIQUE (sop_instance_uid, sha256),
    UNIQUE (sop_instance_uid, instance_version)
);
CREATE INDEX instances_study_idx ON instances (study_uid) WHERE superseded_at IS NULL;

-- Each settle of a study cuts a version: the set of current instances at that moment.
CREATE TABLE study_versions (
    study_uid       TEXT NOT NULL REFERENCES studies (study_uid),
    version         INTEGER NOT NULL CHECK (version >= 1),
    instance_count  BIGINT NOT NULL,
    settled_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set once the broker confirmed the study.ready message (the outbox flag).
    published_at    TIMESTAMPTZ,
    PRIMARY KEY (study_uid, version)
);
CREATE INDEX study_versions_unpublished_idx ON study_versions (settled_at) WHERE published_at IS NULL;

CREATE TYPE job_state AS ENUM ('running', 'succeeded', 'failed');

CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    study_uid       TEXT NOT NULL,
    study_version   INTEGER NOT NULL,
    state           job_state NOT NULL DEFAULT 'running',
    attempt         INTEGER NOT NULL DEFAULT 1,
    error           TEXT,
    started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    FOREIGN KEY (study_uid, study_version) REFERENCES study_versions (study_uid, version)
);
CREATE INDEX jobs_study_idx ON jobs (study_uid, study_version);

CREATE TYPE review_state AS ENUM ('pending', 'accepted', 'edited', 'rejected');

CREATE TABLE drafts (
    id              BIGSERIAL PRIMARY KEY,
    job_id          BIGINT NOT NULL REFERENCES jobs (id),
    study_uid       TEXT NOT NULL,
    study_version   INTEGER NOT NULL,
    report_text     TEXT NOT NULL,
    -- Triage score in [0, 1]; higher means look sooner.
    urgency         REAL CHECK (urgency BETWEEN 0 AND 1),
    -- Model id, revision, manifest sha256, execution provider, timings.
    provenance      JSONB NOT NULL,
    review          review_state NOT NULL DEFAULT 'pending',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (study_uid, study_version),
    FOREIGN KEY (study_uid, study_version) REFERENCES study_versions (study_uid, version)
);

-- Every AI suggestion and every human decision, in order. Rows are never changed.
CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    study_uid   TEXT,
    detail      JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_study_idx ON audit_events (study_uid, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Where each followed feed (an Orthanc's /changes) got to, so a restart resumes there.
CREATE TABLE feed_cursors (
    feed        TEXT PRIMARY KEY,
    last_seq    BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
