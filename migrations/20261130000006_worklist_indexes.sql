-- The worklist reads studies by arrival time and current drafts by score, flagged and
-- unflagged apart, one index scan per segment (services/store/src/worklist.rs).
CREATE INDEX studies_arrival_idx ON studies (first_received_at) WHERE version >= 1;
CREATE INDEX drafts_flagged_score_idx ON drafts (triage_score DESC NULLS LAST)
    WHERE superseded_at IS NULL AND triage_flag;
CREATE INDEX drafts_unflagged_score_idx ON drafts (triage_score DESC NULLS LAST)
    WHERE superseded_at IS NULL AND NOT triage_flag;
