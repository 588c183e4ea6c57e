-- New lifecycle values for the draft worker, in their own migration: Postgres refuses a
-- new enum value in the transaction that added it, and the next migration uses them.

-- A study the deployment does not draft (modality or body part outside its scope).
ALTER TYPE study_state ADD VALUE 'out_of_scope';

-- `retrying`: failed transiently, sent to the retry queue. `abandoned`: the worker stopped
-- (crash, kill) before finishing; the message came back and a new attempt took over.
ALTER TYPE job_state ADD VALUE 'retrying';
ALTER TYPE job_state ADD VALUE 'abandoned';
ALTER TYPE job_state ADD VALUE 'out_of_scope';
-- A failed outcome an operator sent back to work (`radraft-worker dead replay`): kept, no
-- longer the version's outcome.
ALTER TYPE job_state ADD VALUE 'replaced';
