package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

// HandleError is a projection's failure on one event.
type HandleError struct {
	Projection string
	Record     domain.Record
	Err        error
	index      int // in the batch
}

func (e *HandleError) Error() string {
	return fmt.Sprintf("projection %s at position %d (%s %s/%d): %v",
		e.Projection, e.Record.Position, e.Record.Name(), e.Record.Stream, e.Record.Version, e.Err)
}

func (e *HandleError) Unwrap() error { return e.Err }

func (r *Runner) ensureCheckpoint(ctx context.Context, w *worker) error {
	if _, err := r.cfg.DB.Exec(ctx, `INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, w.name); err != nil {
		return fmt.Errorf("create checkpoint of %s: %w", w.name, err)
	}
	return nil
}

func (r *Runner) loadCheckpoint(ctx context.Context, w *worker) error {
	if err := r.ensureCheckpoint(ctx, w); err != nil {
		return err
	}
	var p int64
	if err := r.cfg.DB.QueryRow(ctx, `SELECT position FROM projection_checkpoints WHERE name = $1`, w.name).Scan(&p); err != nil {
		return fmt.Errorf("read checkpoint of %s: %w", w.name, err)
	}
	w.setPosition(domain.Position(p))
	r.metrics.position.WithLabelValues(w.name).Set(float64(p))
	return nil
}

// lockCheckpoint reads the checkpoint inside tx and locks its row, so that
// every writer of this projection's read model serialises behind it.
func lockCheckpoint(ctx context.Context, tx pgx.Tx, name string) (domain.Position, error) {
	var p int64
	if err := tx.QueryRow(ctx, `SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE`, name).Scan(&p); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("checkpoint of %s is missing (run the runner, which creates it): %w", name, domain.ErrNotFound)
		}
		return 0, fmt.Errorf("lock checkpoint of %s: %w", name, err)
	}
	return domain.Position(p), nil
}

func setCheckpoint(ctx context.Context, tx pgx.Tx, name string, p domain.Position) error {
	if _, err := tx.Exec(ctx, `UPDATE projection_checkpoints SET position = $2, updated_at = now() WHERE name = $1`, name, int64(p)); err != nil {
		return fmt.Errorf("move checkpoint of %s: %w", name, err)
	}
	return nil
}

// Flusher is implemented by projections that buffer rows in Handle (the
// statistics with stats.WithBatchFlush): the runtime calls Flush once per
// transaction, after the batch's last Handle and before the checkpoint
// moves, so the buffered rows and the checkpoint commit together or not at
// all. An error rolls the whole batch back; it is retried like a database
// error (it is not a *HandleError and never parks an event).
type Flusher interface {
	Flush(ctx context.Context, tx pgx.Tx) error
}

func flush(ctx context.Context, w *worker, tx pgx.Tx) error {
	f, ok := w.p.(Flusher)
	if !ok {
		return nil
	}
	if err := f.Flush(ctx, tx); err != nil {
		return fmt.Errorf("projection %s: flush: %w", w.name, err)
	}
	return nil
}

type asyncCommitKey struct{}

// WithAsyncCommit returns a context under which the runner's transactions
// (CatchUp, CatchUpUntil) commit with synchronous_commit = off: a commit
// does not wait for the WAL flush. It is safe for read-model writes because
// rows and checkpoint share the transaction: a crash loses at most the
// last pages of both, and the next run redoes them from the checkpoint.
// Catalog rebuilds use it; the live path does not need it.
func WithAsyncCommit(ctx context.Context) context.Context {
	return context.WithValue(ctx, asyncCommitKey{}, true)
}

func asyncCommit(ctx context.Context) bool {
	on, _ := ctx.Value(asyncCommitKey{}).(bool)
	return on
}

func setAsyncCommit(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("asynchronous commit: %w", err)
	}
	return nil
}

// applyBatch applies recs (in log order), flushes a Flusher and moves the
// checkpoint to the last of them, in one transaction; records at or below the checkpoint are
// skipped. A projection's failure comes back as *HandleError (nothing of
// the batch is kept); other errors are the database's.
func (r *Runner) applyBatch(ctx context.Context, w *worker, recs []domain.Record) (applied int, err error) {
	return r.applyDecoded(ctx, w, recs, nil)
}

// applyDecoded is applyBatch with the events of recs decoded already
// (evs[i] for recs[i]; nil evs decodes here).
func (r *Runner) applyDecoded(ctx context.Context, w *worker, recs []domain.Record, evs []decodedEvent) (applied int, err error) {
	tx, err := r.cfg.DB.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("projection %s: begin: %w", w.name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if asyncCommit(ctx) {
		if err := setAsyncCommit(ctx, tx); err != nil {
			return 0, fmt.Errorf("projection %s: %w", w.name, err)
		}
	}
	cp, err := lockCheckpoint(ctx, tx, w.name)
	if err != nil {
		return 0, err
	}
	last := cp
	for i, rec := range recs {
		if rec.Position <= last {
			continue
		}
		var err error
		if evs != nil {
			err = r.handleDecoded(ctx, w, tx, rec, evs[i])
		} else {
			err = r.apply(ctx, w, tx, rec)
		}
		if err != nil {
			return 0, &HandleError{Projection: w.name, Record: rec, Err: err, index: i}
		}
		last = rec.Position
		applied++
	}
	if last == cp {
		w.advance(cp)
		return 0, nil
	}
	if err := flush(ctx, w, tx); err != nil {
		return 0, err
	}
	if err := setCheckpoint(ctx, tx, w.name, last); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("projection %s: commit: %w", w.name, err)
	}
	w.advance(last)
	r.metrics.handled.WithLabelValues(w.name).Add(float64(applied))
	r.metrics.position.WithLabelValues(w.name).Set(float64(last))
	return applied, nil
}

// apply hands one record to the projection, unless its type filter skips it.
func (r *Runner) apply(ctx context.Context, w *worker, tx pgx.Tx, rec domain.Record) error {
	if w.types != nil && !w.types[rec.Type] {
		return nil
	}
	ev, err := domain.Decode(rec)
	if errors.Is(err, domain.ErrUnknownEvent) {
		ev, err = nil, nil
	}
	if err != nil {
		return err
	}
	return w.p.Handle(ctx, tx, rec, ev)
}

// decodedEvent is a record's event decoded ahead of applying it.
type decodedEvent struct {
	skip bool // filtered out by the projection's types
	ev   domain.Event
	err  error
}

func (w *worker) decode(rec domain.Record) decodedEvent {
	if w.types != nil && !w.types[rec.Type] {
		return decodedEvent{skip: true}
	}
	ev, err := domain.Decode(rec)
	if errors.Is(err, domain.ErrUnknownEvent) {
		ev, err = nil, nil
	}
	return decodedEvent{ev: ev, err: err}
}

func (r *Runner) handleDecoded(ctx context.Context, w *worker, tx pgx.Tx, rec domain.Record, d decodedEvent) error {
	if d.skip {
		return nil
	}
	if d.err != nil {
		return d.err
	}
	return w.p.Handle(ctx, tx, rec, d.ev)
}

// park records a poison event. With PoisonSkip it moves the checkpoint
// past it in the same transaction.
func (r *Runner) park(ctx context.Context, w *worker, rec domain.Record, cause error) error {
	tx, err := r.cfg.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("park: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	cp, err := lockCheckpoint(ctx, tx, w.name)
	if err != nil {
		return err
	}
	skip := w.policy == PoisonSkip
	if _, err := tx.Exec(ctx, `INSERT INTO projection_parked (projection, position, event_id, type, error, handler, skipped)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (projection, position) DO UPDATE
		SET error = EXCLUDED.error, handler = EXCLUDED.handler, skipped = EXCLUDED.skipped, parked_at = now()`,
		w.name, int64(rec.Position), string(rec.ID), rec.Name(), cause.Error(), w.handler, skip); err != nil {
		return fmt.Errorf("park event at %d: %w", rec.Position, err)
	}
	if skip && rec.Position > cp {
		if err := setCheckpoint(ctx, tx, w.name, rec.Position); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("park: commit: %w", err)
	}
	if skip {
		w.advance(rec.Position)
	}
	r.metrics.parked.WithLabelValues(w.name).Inc()
	return nil
}
