-- What a radiologist recognises a study by on the worklist: its accession number and
-- description, as the modality sent them (the first non-empty value wins, a later instance
-- may fill a gap). Patient attributes stay in the archived files.
ALTER TABLE studies
    ADD COLUMN accession_number TEXT,
    ADD COLUMN study_description TEXT;
