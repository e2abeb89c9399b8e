package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Rebuild empties the named projection (Resetter) and replays the whole log
// into it in ONE transaction, with the checkpoint: readers see the old read
// model until the commit and the new one from then on, and a rebuild that
// fails (a handler error, a crash, ctx ending) leaves the old one and its
// checkpoint untouched. Status shows StateRebuilding and Progress
// meanwhile. A live handler of the projection (here or in another process)
// waits on the checkpoint lock and then skips what the rebuild applied.
// Handler errors are not retried and no event is skipped: the rebuild fails
// with a *HandleError. It returns errors wrapping ErrUnknownProjection,
// ErrNotRebuildable, *HandleError, or the database's or store's error.
func (r *Runner) Rebuild(ctx context.Context, name string) (err error) {
	w, err := r.worker(name)
	if err != nil {
		return err
	}
	reset, ok := w.p.(Resetter)
	if !ok {
		return fmt.Errorf("rebuild %s: %w", name, ErrNotRebuildable)
	}
	if err := r.ensureCheckpoint(ctx, w); err != nil {
		return err
	}
	head, err := r.cfg.Stats.Head(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	prev := w.state
	w.state = StateRebuilding
	w.rebuild = &Progress{Target: head, StartedAt: time.Now().UTC()}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.rebuild = nil
		if w.state == StateRebuilding {
			w.state = prev
		}
		w.mu.Unlock()
	}()

	tx, err := r.cfg.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("rebuild %s: begin: %w", name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := lockCheckpoint(ctx, tx, name); err != nil {
		return err
	}
	if err := reset.Reset(ctx, tx); err != nil {
		return fmt.Errorf("rebuild %s: reset: %w", name, err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	var last domain.Position
	var handled int64
	for pg := range r.prefetch(ctx2, 0) {
		if pg.err != nil {
			return fmt.Errorf("rebuild %s: read the log: %w", name, pg.err)
		}
		for _, rec := range pg.recs {
			if err := r.apply(ctx, w, tx, rec); err != nil {
				return fmt.Errorf("rebuild %s: %w", name, &HandleError{Projection: name, Record: rec, Err: err})
			}
			last = rec.Position
		}
		handled += int64(len(pg.recs))
		w.mu.Lock()
		w.rebuild.Position, w.rebuild.Events = last, handled
		w.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := setCheckpoint(ctx, tx, name, last); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("rebuild %s: commit: %w", name, err)
	}
	w.setPosition(last)
	if w.failed() {
		w.clearFailure()
		select { // wake a worker waiting for Resume
		case w.resume <- struct{}{}:
		default:
		}
	}
	r.metrics.handled.WithLabelValues(name).Add(float64(handled))
	r.metrics.position.WithLabelValues(name).Set(float64(last))
	return nil
}
