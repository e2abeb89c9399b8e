package stats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

// TxDB is a database that can also begin transactions; a *pgxpool.Pool fits.
type TxDB interface {
	DB
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// RecordedUntil, when not zero, skips every record recorded after it:
	// the projection then holds the figures exactly as they were at that
	// record time (records recorded by then that commit late in the global
	// order are still included, since the filter is on RecordedAt, not on
	// position).
	RecordedUntil time.Time
	// PageSize is how many log records one read returns and one
	// transaction applies. Default 5000.
	PageSize int
	// Progress, if not nil, is called after each committed page with the
	// last position read and the number of events handled so far.
	Progress func(last domain.Position, handled int)
}

// Replay feeds the whole log of store into p, whose schema must exist
// (CreateSchema, Init), one page per transaction, reading the next page
// while it applies the current one. It puts p in batch-flush mode
// (WithBatchFlush) and flushes before each commit. It keeps no checkpoint:
// it is meant for builds that are queried and thrown away (AsOf) and for
// measuring; the runtime rebuilds live read models with checkpoints. It
// returns the number of events handled and the first store, decode or
// database error, wrapped; what was committed before an error stays.
func Replay(ctx context.Context, db TxDB, store domain.EventStore, p *Projection, o ReplayOptions) (int, error) {
	if o.PageSize <= 0 {
		o.PageSize = 5000
	}
	p.mu.Lock()
	p.batched = true
	p.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan replayPage, 2)
	go readPages(ctx, store, o, pages)

	handled := 0
	for pg := range pages {
		if pg.err != nil {
			return handled, pg.err
		}
		if len(pg.events) > 0 {
			if err := applyPage(ctx, db, p, pg.events); err != nil {
				return handled, err
			}
			handled += len(pg.events)
		}
		if o.Progress != nil {
			o.Progress(pg.last, handled)
		}
	}
	return handled, ctx.Err()
}

// handled is EventTypes as a set.
var handled = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range EventTypes {
		m[t] = true
	}
	return m
}()

type decoded struct {
	rec domain.Record
	ev  domain.Event
}

type replayPage struct {
	events []decoded
	last   domain.Position
	err    error
}

// readPages reads the log by keyset on position, filters and decodes it,
// and sends pages until the log ends (then closes out) or ctx ends.
func readPages(ctx context.Context, store domain.EventStore, o ReplayOptions, out chan<- replayPage) {
	defer close(out)
	send := func(pg replayPage) bool {
		select {
		case out <- pg:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var after domain.Position
	for {
		recs, err := store.ReadAll(ctx, after, o.PageSize)
		if err != nil {
			send(replayPage{err: fmt.Errorf("read the log after %d: %w", after, err)})
			return
		}
		if len(recs) == 0 {
			return
		}
		pg := replayPage{events: make([]decoded, 0, len(recs)), last: recs[len(recs)-1].Position}
		for _, rec := range recs {
			if !handled[rec.Type] || (!o.RecordedUntil.IsZero() && rec.RecordedAt.After(o.RecordedUntil)) {
				continue
			}
			ev, err := domain.Decode(rec)
			if err != nil {
				send(replayPage{err: err})
				return
			}
			pg.events = append(pg.events, decoded{rec, ev})
		}
		if !send(pg) {
			return
		}
		after = pg.last
	}
}

func applyPage(ctx context.Context, db TxDB, p *Projection, events []decoded) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("statistics %s: begin: %w", p.schema, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // the error that matters is err
		}
	}()
	for _, d := range events {
		if err := p.Handle(ctx, tx, d.rec, d.ev); err != nil {
			return fmt.Errorf("at position %d: %w", d.rec.Position, err)
		}
	}
	if err := p.Flush(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("statistics %s: commit: %w", p.schema, err)
	}
	return nil
}

// AsOf returns the statistics exactly as they were at record time t: it
// builds the read model into a new schema ("stats_asof_" and a random
// suffix) from the records of store recorded at or before t, counted
// under the guideline versions of that log (or the rules given with
// WithRules), and returns queries over it and a function that drops the
// schema, which the caller must call when done. A use recorded before t
// and cancelled after t still counts. It reads the log as far as the
// store lets readers see when called; t should therefore lie in the past
// (a record stamped before t whose transaction is still open is not yet
// readable). It returns the store's, decode or
// database error, wrapped, after dropping the partial schema.
func AsOf(ctx context.Context, db TxDB, store domain.EventStore, t time.Time, opts ...Option) (*Queries, func(context.Context) error, error) {
	if t.IsZero() {
		return nil, nil, errors.New("statistics as of a record time: the time is zero")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, fmt.Errorf("statistics as of %s: %w", t, err)
	}
	schema := "stats_asof_" + hex.EncodeToString(b[:])
	drop := func(ctx context.Context) error { return DropSchema(ctx, db, schema) }
	p := New(schema, append(opts, WithBatchFlush())...)
	build := func() error {
		if err := CreateSchema(ctx, db, schema); err != nil {
			return err
		}
		if err := p.Init(ctx, db); err != nil {
			return err
		}
		_, err := Replay(ctx, db, store, p, ReplayOptions{RecordedUntil: t})
		return err
	}
	if err := build(); err != nil {
		if derr := drop(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, nil, fmt.Errorf("statistics as of %s: %w", t.Format(time.RFC3339Nano), err)
	}
	return NewQueries(db, schema), drop, nil
}
