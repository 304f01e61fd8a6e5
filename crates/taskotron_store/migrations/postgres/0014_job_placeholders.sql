-- The expected-results ledger: while a job waits or runs, the result store
-- shows a QUEUED or RUNNING result for it, which its final result replaces
-- (it is newer). placeholder records the last one written: 'QUEUED', or
-- 'RUNNING:<attempt>'. The partial index holds the jobs that may need
-- one, so the writer never walks finished jobs.
ALTER TABLE jobs ADD COLUMN placeholder TEXT;
CREATE INDEX jobs_active ON jobs (id) WHERE state IN ('queued', 'running');
