-- Lists walk the results newest first and test each one's testcase. With the
-- id (the ORDER BY's tie-breaker) and the testcase in the index, the walk is
-- in the order wanted and never reads the table. It replaces the index on
-- submit_time alone, whose uses it serves as well.
CREATE INDEX rdb_result_time_id_testcase ON rdb_result (submit_time, id, testcase_id);
DROP INDEX rdb_result_submit_time;
