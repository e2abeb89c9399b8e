-- The log's epoch: positions survive a restore into another cluster.
--
-- A position is (transaction id << 20) + index, and transaction ids belong
-- to a PostgreSQL cluster: restored into a new cluster (pg_dump/pg_restore
-- to a new server, a disaster recovery), the log would continue far below
-- its restored positions. So every position, and the readers' and the
-- chainer's fence, count transaction ids from an epoch offset kept here:
--
--     position base = (xid8 + kaiku_xid_epoch()) << 20
--
-- kaiku_xid_epoch() is 0 until `kaiku migrate` (also run by `kaiku serve`
-- at start) finds the log ahead of the cluster's transaction ids; it then
-- raises the offset so that every transaction still running or yet to
-- start appends above the highest stored position, and records why in
-- kaiku_epochs. Positions already stored, checkpoints and the hash chain
-- stay as they are. The offset only ever grows.
--
-- The offset is the constant body of a STABLE SQL function, not a table
-- row, so that PostgreSQL inlines it into the append and read statements
-- at no cost per call; redefining the function invalidates every cached
-- plan that inlined it.
CREATE FUNCTION kaiku_xid_epoch() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT 0::bigint $$;

-- kaiku_xid_position is the first position of transaction x's range (its
-- events take the next 2^20 - 1). Every statement of the store that turns
-- a transaction id into a position goes through it: the base of an append
-- (x = pg_current_xact_id()) and the fence of a reader (x =
-- pg_snapshot_xmin(pg_current_snapshot())).
CREATE FUNCTION kaiku_xid_position(x xid8) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (x::text::bigint + kaiku_xid_epoch()) << 20 $$;

-- One row per raise of the epoch, for operators: when, from what to what,
-- and the highest stored position and the cluster's oldest running
-- transaction id that made it necessary.
CREATE TABLE kaiku_epochs (
    set_at       timestamptz NOT NULL DEFAULT now(),
    old_offset   bigint      NOT NULL,
    new_offset   bigint      NOT NULL CHECK (new_offset > old_offset),
    log_head     bigint      NOT NULL,
    cluster_xmin bigint      NOT NULL
);

-- kaiku_append (migration 0002) with its base through kaiku_xid_position.
CREATE OR REPLACE FUNCTION kaiku_append(
    p_streams text[], p_expected bigint[], p_total bigint,
    p_row_stream text[], p_row_n bigint[], p_ids text[], p_types text[], p_schema_versions int[],
    p_occurred timestamptz[], p_principals text[], p_correlations text[], p_causations text[],
    p_data json[], p_personal json[], p_subjects text[])
RETURNS TABLE (out_position bigint, out_version bigint, out_recorded_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH tx AS MATERIALIZED (
        SELECT kaiku_xid_position(pg_current_xact_id()) AS base
    ), used AS (
        SELECT tx.base, coalesce((SELECT max(e.position) FROM events e
            WHERE e.position > tx.base AND e.position < tx.base + 1048576), tx.base) - tx.base AS n
        FROM tx
    ), heads AS (
        SELECT s.s_stream, s.s_expected, coalesce(h.version, 0) AS h_version, coalesce(h.position, 0) AS h_position
        FROM unnest(p_streams, p_expected) AS s(s_stream, s_expected)
        LEFT JOIN LATERAL (
            SELECT e.version, e.position FROM events e
            WHERE e.stream = s.s_stream ORDER BY e.version DESC LIMIT 1
        ) h ON true
    ), ok AS (
        SELECT coalesce(bool_and((h.s_expected = -1 OR h.s_expected = h.h_version)
                AND h.h_position < u.base + 1048576), false) AS ok,
            bool_or(CASE WHEN u.n + p_total > 1048575 THEN kaiku_too_many_events(u.n + p_total) ELSE false END) AS overflow
        FROM heads h, used u
    ), ins AS (
        INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at,
            principal, correlation_id, causation_id, data, personal, personal_subject)
        SELECT used.base + used.n + r.ord, r.r_id::uuid, r.r_stream, h.h_version + r.r_n, r.r_type, r.r_schema,
            r.r_occurred, r.r_principal, nullif(r.r_corr, '')::uuid, nullif(r.r_caus, '')::uuid,
            r.r_data, r.r_personal, nullif(r.r_subject, '')
        FROM used, ok,
            unnest(p_row_stream, p_row_n, p_ids, p_types, p_schema_versions, p_occurred, p_principals,
                p_correlations, p_causations, p_data, p_personal, p_subjects)
                WITH ORDINALITY AS r(r_stream, r_n, r_id, r_type, r_schema, r_occurred, r_principal,
                    r_corr, r_caus, r_data, r_personal, r_subject, ord)
            JOIN heads h ON h.s_stream = r.r_stream
        WHERE ok.ok AND NOT ok.overflow
        RETURNING events.position, events.version, events.recorded_at
    )
    SELECT * FROM ins;
END
$$;
