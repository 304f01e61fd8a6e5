-- The durable job queue. A job is one check on one item revision and arch;
-- its key (check, check revision, item type, item, item revision, arch and
-- the re-run number, 0 for the first run) is unique, so planning the same
-- job twice makes one row. Times are microseconds since the Unix epoch by
-- the database's clock. lease_token is the fencing token: it grows by one
-- with every claim, and only the attempt holding the current token may
-- heartbeat or finish.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    uuid             TEXT NOT NULL UNIQUE,
    check_name       TEXT NOT NULL,
    check_revision   TEXT NOT NULL,
    item_type        TEXT NOT NULL,
    item             TEXT NOT NULL,
    item_revision    TEXT NOT NULL,
    arch             TEXT NOT NULL,
    rerun            INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL
        CHECK (state IN ('queued', 'running', 'finished', 'crashed', 'cancelled', 'timed-out')),
    priority         INTEGER NOT NULL DEFAULT 0,
    not_before       INTEGER NOT NULL,
    req_arch         TEXT,
    req_sandbox      TEXT,
    -- The required labels, sorted and space-separated, for display; claims
    -- match on job_labels.
    req_labels       TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    worker           TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    outcome          TEXT,
    result_group     TEXT,
    UNIQUE (check_name, check_revision, item_type, item, item_revision, arch, rerun)
);
-- The claim's walk: queued jobs, highest priority first, oldest first, with
-- no sort (SQLite prefers a full index to a partial one here).
CREATE INDEX jobs_claim ON jobs (state, priority DESC, id);
-- Listing by item (by check uses the key's unique index).
CREATE INDEX jobs_item ON jobs (item);
-- Listing by state, newest first; the sweeper's walk over running jobs.
CREATE INDEX jobs_state ON jobs (state, id);

CREATE TABLE job_labels (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    label  TEXT NOT NULL,
    PRIMARY KEY (job_id, label)
);

-- Every attempt at a job: who ran it, under which token, and how it ended
-- (end_reason: finished, lease-expired or cancelled).
CREATE TABLE job_attempts (
    job_id           INTEGER NOT NULL REFERENCES jobs (id),
    attempt          INTEGER NOT NULL,
    worker           TEXT NOT NULL,
    lease_token      INTEGER NOT NULL,
    lease_expires_at INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    end_reason       TEXT,
    exit_status      INTEGER,
    outcome          TEXT,
    log_url          TEXT,
    artifacts_url    TEXT,
    PRIMARY KEY (job_id, attempt)
);
CREATE INDEX job_attempts_worker ON job_attempts (worker, job_id);
