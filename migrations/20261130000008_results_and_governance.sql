-- After sign-off: amendments with their history, each report revision exported to the PACS
-- as a DICOM SR until the PACS confirms it, shadow mode per model version, the drafting kill
-- switch, and the closed loop of a confirmed critical finding.

-- A signed report changed after sign-off. The decision is revision 1; each amendment is the
-- next revision, the earlier ones kept as they were signed.
CREATE TABLE report_amendments (
    id          BIGSERIAL PRIMARY KEY,
    draft_id    BIGINT NOT NULL REFERENCES review_decisions (draft_id),
    study_uid   TEXT NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision >= 2),
    findings    TEXT NOT NULL,
    impression  TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (reason <> ''),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    amended_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (draft_id, revision)
);

-- One SR per report revision and destination. Its UIDs are fixed when it is queued, so a
-- retry sends the same object and the PACS stores it once; the next revision's SR names this
-- one as its predecessor. Revision 0 is the unreviewed draft (sent only when configured).
CREATE TYPE export_state AS ENUM ('pending', 'sent', 'failed');
CREATE TABLE report_exports (
    id                   BIGSERIAL PRIMARY KEY,
    draft_id             BIGINT NOT NULL REFERENCES drafts (id),
    study_uid            TEXT NOT NULL,
    revision             INTEGER NOT NULL CHECK (revision >= 0),
    destination          TEXT NOT NULL,
    sop_instance_uid     TEXT NOT NULL UNIQUE,
    series_instance_uid  TEXT NOT NULL,
    state                export_state NOT NULL DEFAULT 'pending',
    attempts             INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    next_attempt_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at              TIMESTAMPTZ,
    UNIQUE (draft_id, revision, destination),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX report_exports_due_idx ON report_exports (next_attempt_at) WHERE state = 'pending';
CREATE INDEX report_exports_study_idx ON report_exports (study_uid);

-- A model version in shadow mode drafts as usual, but its drafts are never shown to
-- radiologists: stored and measured only. A draft keeps the mode it was made in.
CREATE TYPE model_mode AS ENUM ('active', 'shadow');
CREATE TABLE model_modes (
    model_id        TEXT NOT NULL,
    model_revision  TEXT NOT NULL,
    mode            model_mode NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, model_revision)
);
ALTER TABLE drafts ADD COLUMN shadow BOOLEAN NOT NULL DEFAULT false;

-- The kill switch: while drafting is off, workers park studies in the retry queue instead
-- of drafting them; nothing is lost and drafting resumes where it stopped.
CREATE TABLE drafting_switch (
    singleton   BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled     BOOLEAN NOT NULL,
    reason      TEXT,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (enabled OR reason IS NOT NULL)
);
INSERT INTO drafting_switch (enabled, changed_by) VALUES (true, 'migration');

-- A flagged critical finding the radiologist confirmed, and who was told, when and how (the
-- ACR's closed loop for actionable findings). A confirmation without a communication is an
-- open loop, listed on the governance page.
CREATE TABLE critical_findings (
    id               BIGSERIAL PRIMARY KEY,
    draft_id         BIGINT NOT NULL UNIQUE REFERENCES drafts (id),
    study_uid        TEXT NOT NULL,
    confirmed_by     BIGINT NOT NULL REFERENCES users (id),
    confirmed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    recipient        TEXT,
    method           TEXT CHECK (method IN ('phone', 'in_person', 'secure_message', 'pager')),
    communicated_at  TIMESTAMPTZ,
    note             TEXT,
    recorded_by      BIGINT REFERENCES users (id),
    recorded_at      TIMESTAMPTZ,
    CHECK ((recipient IS NULL) = (method IS NULL)
       AND (recipient IS NULL) = (communicated_at IS NULL)
       AND (recipient IS NULL) = (recorded_by IS NULL))
);
CREATE INDEX critical_findings_open_idx ON critical_findings (confirmed_at) WHERE recipient IS NULL;
