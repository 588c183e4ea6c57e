-- The outbox without a long transaction: the announcer claims a version for a lease, commits,
-- publishes outside any transaction and marks it published afterwards. While the lease runs
-- no other gateway claims the version; when it lapses (the publisher died or timed out) the
-- version is claimed again and re-published, which consumers de-duplicate.
ALTER TABLE study_versions ADD COLUMN claimed_until TIMESTAMPTZ;
