-- Where each group stands in its result's list of groups, so that a result
-- reads back with its groups in the order they were posted (the POST's
-- answer and every later GET agree).
ALTER TABLE rdb_group_result ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
