package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kaiku/kaiku/domain"
)

// The baseline every performance figure of the store is measured against
// (the package benchmarks and `kaiku bench`): a table with the events'
// columns and only a primary key, written by plain single-row INSERTs or
// COPY and read by an ordered keyset SELECT. Keeping it in one place keeps
// both measurements comparing against the same thing.

// BaselineTable names the baseline table.
const BaselineTable = "plain_events"

// BaselineDDL creates BaselineTable.
const BaselineDDL = `CREATE TABLE plain_events (
    position         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         uuid        NOT NULL,
    stream           text        NOT NULL,
    version          bigint      NOT NULL,
    type             text        NOT NULL,
    schema_version   int         NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    principal        text        NOT NULL,
    correlation_id   uuid,
    causation_id     uuid,
    data             json        NOT NULL,
    personal         json,
    personal_subject text)`

// BaselineColumns are the columns BaselineRow fills, for COPY.
var BaselineColumns = []string{"event_id", "stream", "version", "type", "schema_version", "occurred_at",
	"principal", "correlation_id", "causation_id", "data", "personal", "personal_subject"}

const baselineInsert = `INSERT INTO plain_events (event_id, stream, version, type, schema_version, occurred_at,
	principal, correlation_id, causation_id, data, personal, personal_subject)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// BaselineRow returns rec as one row of the baseline table at stream and
// version, in BaselineColumns' order. It fails on an id that is not a UUID.
func BaselineRow(rec domain.Record, stream domain.StreamID, version int64) ([]any, error) {
	var id, corr, caus pgtype.UUID
	for _, u := range []struct {
		dst *pgtype.UUID
		s   domain.EventID
	}{{&id, rec.ID}, {&corr, rec.CorrelationID}, {&caus, rec.CausationID}} {
		if u.s == "" {
			continue
		}
		if err := u.dst.Scan(string(u.s)); err != nil {
			return nil, fmt.Errorf("baseline row: %w", err)
		}
	}
	var personal []byte
	if len(rec.Personal) > 0 {
		personal = rec.Personal
	}
	subject := pgtype.Text{String: rec.Subject, Valid: rec.Subject != ""}
	return []any{id, string(stream), version, rec.Type, int32(rec.SchemaVersion), rec.OccurredAt,
		rec.Principal.String(), corr, caus, []byte(rec.Data), personal, subject}, nil
}

// InsertBaseline writes rec to the baseline table with one plain INSERT
// in a transaction of its own (q a pool).
func InsertBaseline(ctx context.Context, q Querier, rec domain.Record, stream domain.StreamID, version int64) error {
	row, err := BaselineRow(rec, stream, version)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, baselineInsert, row...)
	return err
}

// CopyBaseline writes rows (from BaselineRow) to the baseline table by COPY.
func CopyBaseline(ctx context.Context, db interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
}, rows [][]any) error {
	_, err := db.CopyFrom(ctx, pgx.Identifier{BaselineTable}, BaselineColumns, pgx.CopyFromRows(rows))
	return err
}
