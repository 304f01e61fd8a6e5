-- The scheduler's events: what it learnt happened, from the message bus,
-- the Koji and Bodhi pollers or the API. A bus message is kept once per
-- message id; an event the pollers can find again has a natural key
-- (koji_build:<id>:complete, bodhi_update:<alias>:<version hash>, …), so a
-- message and a poller finding the same build make one event. States: new
-- (waiting for the planner), planned, rejected (it could not be read; the
-- reason says why) and ignored (read, but nothing plans from it, e.g. a
-- failed build). Times are microseconds since the Unix epoch.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    source        TEXT NOT NULL,
    message_id    TEXT UNIQUE,
    natural_key   TEXT UNIQUE,
    topic         TEXT,
    schema_name   TEXT,
    message_type  TEXT,
    item_type     TEXT,
    item          TEXT,
    item_revision TEXT,
    fact          TEXT,
    body          TEXT,
    state         TEXT NOT NULL CHECK (state IN ('new', 'planned', 'rejected', 'ignored')),
    reason        TEXT,
    job_count     INTEGER NOT NULL DEFAULT 0,
    received_at   INTEGER NOT NULL,
    planned_at    INTEGER
);
-- The planner's walk over new events, and listing by state.
CREATE INDEX events_state ON events (state, id);
CREATE INDEX events_item ON events (item);

-- Which jobs each planned event asked for (made new, found existing, or
-- folded into by a debounce).
CREATE TABLE event_jobs (
    event_id INTEGER NOT NULL REFERENCES events (id),
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    how      TEXT NOT NULL CHECK (how IN ('inserted', 'existing', 'debounced', 'rerun')),
    PRIMARY KEY (event_id, job_id)
);
CREATE INDEX event_jobs_job ON event_jobs (job_id);

-- The pollers' progress: each poller's watermark (a time or a Koji event
-- id, as text) and health.
CREATE TABLE watermarks (
    name        TEXT PRIMARY KEY,
    value       TEXT,
    updated_at  INTEGER NOT NULL,
    last_run_at INTEGER,
    last_ok_at  INTEGER,
    last_error  TEXT,
    runs        INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    found       INTEGER NOT NULL DEFAULT 0
);
