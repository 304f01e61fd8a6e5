-- The ResultsDB v2.0 data model: testcases, groups, results, their data rows
-- and group links. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE rdb_testcase (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    ref_url TEXT
);

CREATE TABLE rdb_group (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    description TEXT,
    ref_url     TEXT
);

CREATE TABLE rdb_result (
    id          INTEGER PRIMARY KEY,
    testcase_id INTEGER NOT NULL REFERENCES rdb_testcase (id),
    submit_time INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    note        TEXT,
    ref_url     TEXT
);
CREATE INDEX rdb_result_submit_time ON rdb_result (submit_time);
CREATE INDEX rdb_result_testcase_time ON rdb_result (testcase_id, submit_time);

CREATE TABLE rdb_result_data (
    result_id INTEGER NOT NULL REFERENCES rdb_result (id),
    key       TEXT NOT NULL,
    value     TEXT NOT NULL
);
CREATE INDEX rdb_result_data_key_value ON rdb_result_data (key, value, result_id);
CREATE INDEX rdb_result_data_result ON rdb_result_data (result_id);

CREATE TABLE rdb_group_result (
    group_id  INTEGER NOT NULL REFERENCES rdb_group (id),
    result_id INTEGER NOT NULL REFERENCES rdb_result (id),
    PRIMARY KEY (group_id, result_id)
);
CREATE INDEX rdb_group_result_result ON rdb_group_result (result_id);

-- Messages written in the same transaction as the rows they announce, and
-- deleted once the broker has confirmed them.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
