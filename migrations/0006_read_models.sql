-- Versions of read models. Each version of a read model lives in its own
-- schema (stats_v1, stats_v2, stats_r2015, ...). Exactly one version per
-- read model is live: queries read it. A rebuild builds a new version beside
-- the live one and switches by updating live in one transaction, so readers
-- move from the old schema to the new one at once. A restated build (rules
-- set) is never live; it answers statistics "under the rules of" a version.
CREATE TABLE read_model_versions (
    schema_name  text        PRIMARY KEY,
    read_model   text        NOT NULL,
    version      int         NOT NULL,
    rules        text,                       -- guideline version of a restated build
    state        text        NOT NULL CHECK (state IN ('building', 'live', 'restated', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    switched_at  timestamptz,
    UNIQUE (read_model, version)
);
CREATE UNIQUE INDEX read_model_versions_one_live ON read_model_versions (read_model) WHERE state = 'live';
