-- A radiologist's decision on a draft: accepted as is, edited and accepted (the signed text
-- kept beside the AI's), or rejected with a reason. One decision per draft; the draft's
-- `review` column mirrors it for the worklist. Signing after sign-off (amendments) comes
-- with the results-out work.

CREATE TABLE review_decisions (
    id          BIGSERIAL PRIMARY KEY,
    draft_id    BIGINT NOT NULL UNIQUE REFERENCES drafts (id),
    study_uid   TEXT NOT NULL,
    decision    review_state NOT NULL CHECK (decision <> 'pending'),
    findings    TEXT,
    impression  TEXT,
    reason      TEXT,
    -- Characters changed between the AI's text and the signed one (Levenshtein): 0 when
    -- accepted as is, NULL when rejected. Governance reads how much drafts are corrected.
    edit_distance INTEGER CHECK (edit_distance >= 0),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    decided_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((decision = 'rejected') = (reason IS NOT NULL))
);
CREATE INDEX review_decisions_study_idx ON review_decisions (study_uid);
