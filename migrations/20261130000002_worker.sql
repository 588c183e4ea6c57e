-- The draft worker: which instances each study version was cut with, one outcome per
-- version (drafted, failed or out of scope) enforced by the database, structured drafts with
-- triage and supersession, and abandoned attempts kept apart from real failures.

-- A version's membership, recorded when it is cut: the index alone cannot say it once a
-- later instance version supersedes an earlier one.
CREATE TABLE study_version_instances (
    study_uid    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    instance_id  BIGINT NOT NULL REFERENCES instances (id),
    PRIMARY KEY (study_uid, version, instance_id),
    FOREIGN KEY (study_uid, version) REFERENCES study_versions (study_uid, version)
);
-- Versions cut before this table existed: what was current at their settle time.
INSERT INTO study_version_instances (study_uid, version, instance_id)
SELECT v.study_uid, v.version, i.id
FROM study_versions v
JOIN instances i ON i.study_uid = v.study_uid
    AND i.received_at <= v.settled_at
    AND (i.superseded_at IS NULL OR i.superseded_at > v.settled_at);

ALTER TABLE jobs
    ADD COLUMN worker TEXT,
    ADD COLUMN delivery_count INTEGER NOT NULL DEFAULT 0;
-- At most one final outcome per study version, whatever the workers do: a redelivered
-- message finds it and acknowledges without a second draft.
CREATE UNIQUE INDEX jobs_one_outcome_idx ON jobs (study_uid, study_version)
    WHERE state IN ('succeeded', 'failed', 'out_of_scope');

ALTER TABLE drafts RENAME COLUMN urgency TO triage_score;
ALTER TABLE drafts
    ADD COLUMN findings TEXT,
    ADD COLUMN impression TEXT,
    ADD COLUMN triage_flag BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN triage_question TEXT,
    ADD COLUMN supersedes BIGINT REFERENCES drafts (id),
    ADD COLUMN superseded_at TIMESTAMPTZ;
-- The worklist reads the current draft of each study.
CREATE INDEX drafts_current_idx ON drafts (study_uid) WHERE superseded_at IS NULL;

-- A version is drafted or found out of scope once; a duplicate insert fails the transaction
-- that tried it (the draft's own unique key fails it first). A failure may be replayed by an
-- operator and fail again, so `study.failed` is once per job instead.
CREATE UNIQUE INDEX audit_events_once_per_version_idx
    ON audit_events (study_uid, kind, (detail ->> 'study_version'))
    WHERE kind IN ('draft.created', 'study.out_of_scope');
CREATE UNIQUE INDEX audit_events_failed_once_per_job_idx
    ON audit_events (study_uid, (detail ->> 'job_id'))
    WHERE kind = 'study.failed';
