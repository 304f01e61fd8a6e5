-- Which relay publishes the outbox. Every `taskotron serve` sharing a
-- database runs a relay; the one named here (until expires_at, in
-- microseconds since the epoch by the database's clock) publishes and the
-- others stand by, so that messages go out once and in order.
CREATE TABLE outbox_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
