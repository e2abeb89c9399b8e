-- Support for the event store's append statement (adapters/postgres/store.go).
--
-- A position packs the appending transaction's id above 20 bits of index, so
-- one transaction may append at most 2^20 - 1 events. The append statement
-- calls this function only when a transaction would pass that limit, to fail
-- with a clear message instead of spilling into the next transaction's range.
CREATE FUNCTION kaiku_too_many_events(n bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kaiku: appending % events in one transaction; at most 1048575 fit', n
        USING ERRCODE = 'program_limit_exceeded';
END
$$;

-- kaiku_append is the store's append statement (see appendSQL in
-- adapters/postgres/store.go for what it checks). It lives in a function so
-- that PostgreSQL plans it once per connection: planned afresh for every
-- call, as a client-side prepared statement with array parameters is, the
-- planning alone took longer than the insert and its commit.
CREATE FUNCTION kaiku_append(
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
        SELECT pg_current_xact_id()::text::bigint << 20 AS base
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
