-- Facts about the store itself: which Taskotron created it and when.
CREATE TABLE taskotron_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
