-- The ResultsDB v2.0 data model: testcases, groups, results, their data rows
-- and group links. Times are microseconds since the Unix epoch, UTC.
-- text_pattern_ops lets prefix LIKE filters use the indexes.
CREATE TABLE rdb_testcase (
    id      BIGSERIAL PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    ref_url TEXT
);
CREATE INDEX rdb_testcase_name_pattern ON rdb_testcase (name text_pattern_ops);

CREATE TABLE rdb_group (
    id          BIGSERIAL PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    description TEXT,
    ref_url     TEXT
);

CREATE TABLE rdb_result (
    id          BIGSERIAL PRIMARY KEY,
    testcase_id BIGINT NOT NULL REFERENCES rdb_testcase (id),
    submit_time BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    note        TEXT,
    ref_url     TEXT
);
CREATE INDEX rdb_result_submit_time ON rdb_result (submit_time);
CREATE INDEX rdb_result_testcase_time ON rdb_result (testcase_id, submit_time);

CREATE TABLE rdb_result_data (
    result_id BIGINT NOT NULL REFERENCES rdb_result (id),
    key       TEXT NOT NULL,
    value     TEXT NOT NULL
);
CREATE INDEX rdb_result_data_key_value ON rdb_result_data (key text_pattern_ops, value text_pattern_ops, result_id);
CREATE INDEX rdb_result_data_result ON rdb_result_data (result_id);

CREATE TABLE rdb_group_result (
    group_id  BIGINT NOT NULL REFERENCES rdb_group (id),
    result_id BIGINT NOT NULL REFERENCES rdb_result (id),
    PRIMARY KEY (group_id, result_id)
);
CREATE INDEX rdb_group_result_result ON rdb_group_result (result_id);

-- Messages written in the same transaction as the rows they announce, and
-- deleted once the broker has confirmed them.
CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
