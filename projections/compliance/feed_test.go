package compliance_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// handler is the projection under test.
type handler interface {
	Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error
}

// given is one event to append to stream.
type given struct {
	stream domain.StreamID
	event  domain.Event
}

// feed appends evs to the real store, reads each back from the log,
// decodes it and hands it to h inside one transaction, as the runtime
// does. It returns the stored records.
func feed(t *testing.T, pool *pgxpool.Pool, h handler, evs ...given) []domain.Record {
	t.Helper()
	ctx := t.Context()
	store := postgres.NewStore(pool)
	defer store.Close()
	recs := make([]domain.Record, 0, len(evs))
	for _, g := range evs {
		rec, err := domain.Encode(g.event, domain.Metadata{Principal: domain.System, CorrelationID: domain.NewEventID()})
		if err != nil {
			t.Fatalf("encode %T: %v", g.event, err)
		}
		stored, err := store.Append(ctx, g.stream, domain.AnyVersion, rec)
		if err != nil {
			t.Fatalf("append %T to %s: %v", g.event, g.stream, err)
		}
		back, err := store.ReadStream(ctx, g.stream, stored[0].Version-1)
		if err != nil || len(back) == 0 {
			t.Fatalf("read back %s/%d: %v", g.stream, stored[0].Version, err)
		}
		recs = append(recs, back[0])
	}
	apply(t, pool, h, recs...)
	return recs
}

// apply hands recs to h inside one committed transaction.
func apply(t *testing.T, pool *pgxpool.Pool, h handler, recs ...domain.Record) {
	t.Helper()
	ctx := t.Context()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, rec := range recs {
			ev, err := domain.Decode(rec)
			if err != nil {
				return err
			}
			if err := h.Handle(ctx, tx, rec, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// mustExec runs sql on pool or fails the test.
func mustExec(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql); err != nil {
		t.Fatalf("exec: %v", err)
	}
}

func d(s string) domain.Date { return domain.MustDate(s) }
