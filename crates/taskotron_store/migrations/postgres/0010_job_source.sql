-- Where a job's formula comes from when it is not in the workers' tasks
-- directory: a JSON object {"repo", "commit", "path"} for formulas the
-- scheduler discovered in a git repository. NULL for everything else.
ALTER TABLE jobs ADD COLUMN source TEXT;
