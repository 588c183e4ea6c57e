-- The worklist filters and shows studies by modality. Reading it from `series` per study
-- made the planner hash every series of that modality for each page (33 ms at 100,000
-- studies, docs/benchmarks.md); the study row now carries its modalities, kept by the
-- database itself whenever a series is recorded, under the study row lock ingest holds.
ALTER TABLE studies ADD COLUMN modalities TEXT[] NOT NULL DEFAULT '{}';

UPDATE studies s SET modalities = m.modalities
FROM (SELECT study_uid, array_agg(DISTINCT modality ORDER BY modality) AS modalities
      FROM series WHERE modality IS NOT NULL GROUP BY study_uid) m
WHERE m.study_uid = s.study_uid;

CREATE FUNCTION series_modality_to_study() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.modality IS NOT NULL THEN
        UPDATE studies
        SET modalities = ARRAY(SELECT DISTINCT m FROM unnest(modalities || NEW.modality) m ORDER BY m)
        WHERE study_uid = NEW.study_uid AND NOT (NEW.modality = ANY (modalities));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER series_modality_to_study AFTER INSERT OR UPDATE OF modality ON series
    FOR EACH ROW EXECUTE FUNCTION series_modality_to_study();
