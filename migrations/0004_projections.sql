-- Projection runtime (package projections).
--
-- One row per projection: the position of the last event it applied. The
-- runner updates it in the same transaction as the projection's read-model
-- rows, so a crash or a redelivery never counts an event twice or loses it.
CREATE TABLE projection_checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Poison events: an event a projection failed to apply after its retries.
-- With the stop policy (the default) the projection stops before it and the
-- row says why; with the skip policy the checkpoint moves past it in the
-- same transaction that inserts the row (skipped = true), so the skip is
-- never silent. A later failure at the same position overwrites the row.
CREATE TABLE projection_parked (
    projection text        NOT NULL,
    position   bigint      NOT NULL,
    event_id   uuid        NOT NULL,
    type       text        NOT NULL,
    error      text        NOT NULL,
    handler    text        NOT NULL,
    skipped    boolean     NOT NULL DEFAULT false,
    parked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, position)
);
