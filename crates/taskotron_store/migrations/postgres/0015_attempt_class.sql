-- How each attempt ended, for honest retries: 'verdict' (the task gave its
-- own verdict, passed or failed), 'task' (the task crashed or ran out of
-- time: its own fault) or 'infra' (the worker was lost, the sandbox or a
-- download failed, a dependency was unreachable). Only 'infra' attempts
-- are retried automatically. NULL for attempts still running and for
-- attempts recorded before this column existed.
ALTER TABLE job_attempts ADD COLUMN class TEXT
    CHECK (class IS NULL OR class IN ('verdict', 'task', 'infra'));
