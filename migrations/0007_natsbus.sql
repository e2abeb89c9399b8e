-- NATS JetStream forwarder (package adapters/natsbus).
--
-- One row per JetStream stream: the position of the last record the
-- forwarder saw acknowledged by JetStream. The stream itself is the
-- authority on where forwarding resumes (its last message); this row is
-- what operators and lag figures read, and it survives a lost stream.
CREATE TABLE natsbus_forwarder (
    stream     text        PRIMARY KEY,
    position   bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
