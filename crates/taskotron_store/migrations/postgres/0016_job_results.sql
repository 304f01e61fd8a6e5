-- The results a worker reported with the attempt that ended its job,
-- written in the transaction that accepts the attempt and waiting to go to
-- the result store: `payloads` is a JSON array of ResultsDB POST bodies
-- (checked when the attempt was accepted), `written` how many of them are
-- stored. Each result's insert moves `written` past it in the same
-- transaction, so each is stored exactly once; the row goes when all are.
CREATE TABLE job_results (
    id         BIGSERIAL PRIMARY KEY,
    job_uuid   TEXT NOT NULL,
    attempt    BIGINT NOT NULL,
    payloads   TEXT NOT NULL,
    written    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (job_uuid, attempt)
);
