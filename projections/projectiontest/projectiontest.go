// Package projectiontest feeds events to a projection under test the way
// the runtime does: appended to the real PostgreSQL store, read back from
// the log, decoded, and handed to Handle inside one transaction. Every
// read-model package's tests share it.
package projectiontest

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// Handler is the projection under test.
type Handler interface {
	Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error
}

// Given is one event to append to a stream.
type Given struct {
	Stream domain.StreamID
	Event  domain.Event
}

// Feed appends evs to the real store, reads each back from the log and
// applies them to h in one transaction (Apply). It returns the stored
// records, as read back.
func Feed(t *testing.T, pool *pgxpool.Pool, h Handler, evs ...Given) []domain.Record {
	t.Helper()
	ctx := t.Context()
	store := postgres.NewStore(pool)
	defer store.Close()
	recs := make([]domain.Record, 0, len(evs))
	for _, g := range evs {
		rec, err := domain.Encode(g.Event, domain.Metadata{Principal: domain.System, CorrelationID: domain.NewEventID()})
		if err != nil {
			t.Fatalf("encode %T: %v", g.Event, err)
		}
		stored, err := store.Append(ctx, g.Stream, domain.AnyVersion, rec)
		if err != nil {
			t.Fatalf("append %T to %s: %v", g.Event, g.Stream, err)
		}
		back, err := store.ReadStream(ctx, g.Stream, stored[0].Version-1)
		if err != nil || len(back) == 0 {
			t.Fatalf("read back %s/%d: %v", g.Stream, stored[0].Version, err)
		}
		recs = append(recs, back[0])
	}
	Apply(t, pool, h, recs...)
	return recs
}

// Apply hands recs to h inside one committed transaction, and flushes h
// when it buffers (projections.Flusher). A record of a
// type no package registered reaches h with a nil event, as the runtime
// hands it on.
func Apply(t *testing.T, pool *pgxpool.Pool, h Handler, recs ...domain.Record) {
	t.Helper()
	ctx := t.Context()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, rec := range recs {
			ev, err := domain.Decode(rec)
			if errors.Is(err, domain.ErrUnknownEvent) {
				ev, err = nil, nil
			}
			if err != nil {
				return err
			}
			if err := h.Handle(ctx, tx, rec, ev); err != nil {
				return err
			}
		}
		if f, ok := h.(interface {
			Flush(context.Context, pgx.Tx) error
		}); ok {
			return f.Flush(ctx, tx) // as the runtime does before the checkpoint moves
		}
		return nil
	})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// MustExec runs sql on pool or fails the test.
func MustExec(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql); err != nil {
		t.Fatalf("exec: %v", err)
	}
}
