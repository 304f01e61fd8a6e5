-- Waivers beyond WaiverDB's: one may cover every build of a package
-- (covers_package = 1, subject_identifier is then the package name), and
-- one may expire (expires_at, microseconds since the Unix epoch, UTC; a
-- waiver no longer counts from then on).
ALTER TABLE waivers ADD COLUMN covers_package BIGINT NOT NULL DEFAULT 0 CHECK (covers_package IN (0, 1));
ALTER TABLE waivers ADD COLUMN expires_at BIGINT;
