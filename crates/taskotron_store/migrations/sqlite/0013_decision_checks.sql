-- Decisions to compare after a result or waivers were stored, written in
-- the same transaction as them: a checker compares each subject's decision
-- just before `at` (microseconds since the Unix epoch, UTC) with the one at
-- `at`, and in one transaction deletes the row and writes a
-- greenwave.decision.update message to the outbox for each change. `kind`
-- is 'result' (`ids` is the result's id) or 'waivers' (`ids` lists the
-- waivers stored together, comma-separated). `attempts` counts the checks
-- that could not read what they needed.
CREATE TABLE decision_checks (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('result', 'waivers')),
    ids        TEXT NOT NULL,
    at         INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
