-- Instances joining a receiving study no longer touch its row (they share a lock on it and
-- commit together): the settle loop finds a study's last arrival among its instances.
-- studies.last_received_at is now when the study last started receiving (created or
-- reopened); it still bounds the candidates the settle loop looks at.
CREATE INDEX instances_study_arrival_idx ON instances (study_uid, received_at);
