-- The log. One row per event, never updated, never deleted.
--
-- position orders the global log. It is (transaction id << 20) + the
-- event's index within its transaction, so it grows with the xid8 of the
-- appending transaction. A reader fences on pg_snapshot_xmin: every row
-- whose transaction id is below the oldest transaction still running is
-- final, and no later commit can ever land below that fence. That solves
-- the sequence-gap problem without serialising appends behind one lock
-- (the same fence watermill-sql v4 uses, packed into one orderable number).
CREATE TABLE events (
    position         bigint      PRIMARY KEY,
    event_id         uuid        NOT NULL,
    stream           text        NOT NULL,
    version          bigint      NOT NULL CHECK (version >= 1),
    type             text        NOT NULL,
    schema_version   int         NOT NULL CHECK (schema_version >= 1),
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    principal        text        NOT NULL,
    correlation_id   uuid,
    causation_id     uuid,
    -- json, not jsonb: kept byte for byte as written, so hashes computed at
    -- append time and by `audit verify` agree.
    data             json        NOT NULL,
    -- Personal data of contacts and coordinators (never of cardholders),
    -- kept apart so it can later be encrypted per subject and erased.
    personal         json,
    personal_subject text,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream, version)
);

-- The hash chain. The chainer (adapters/postgres) walks the log in position
-- order behind the same fence as readers and stores, per event, the hash of
-- its content and envelope chained to its predecessor's hash. Appends never
-- wait for it.
CREATE TABLE event_chain (
    position bigint PRIMARY KEY,
    hash     bytea  NOT NULL
);

-- Seals: each covers the chained events with from_position <= position <=
-- to_position, names the chain hash of the last one and the number of
-- events, and is itself chained to the previous seal.
CREATE TABLE seals (
    seq            bigint      PRIMARY KEY,
    from_position  bigint      NOT NULL,
    to_position    bigint      NOT NULL,
    event_count    bigint      NOT NULL,
    last_hash      bytea       NOT NULL,
    prev_seal_hash bytea,
    seal_hash      bytea       NOT NULL,
    sealed_at      timestamptz NOT NULL DEFAULT now()
);
