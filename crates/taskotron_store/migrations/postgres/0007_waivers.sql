-- WaiverDB's waivers. A waiver is never edited: a newer one for the same
-- subject, test case and scenario replaces it, and one with waived = 0
-- revokes it. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE waivers (
    id                 BIGSERIAL PRIMARY KEY,
    subject_type       TEXT NOT NULL,
    subject_identifier TEXT NOT NULL,
    testcase           TEXT NOT NULL,
    scenario           TEXT,
    product_version    TEXT NOT NULL,
    username           TEXT NOT NULL,
    proxied_by         TEXT,
    waived             BIGINT NOT NULL CHECK (waived IN (0, 1)),
    comment            TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);

CREATE INDEX waivers_subject ON waivers (subject_type, subject_identifier);
CREATE INDEX waivers_testcase ON waivers (testcase);
