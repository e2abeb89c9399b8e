package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Rebuild empties the named projection (Resetter) and replays the whole log
// into it IN PLACE in ONE transaction, with the checkpoint: readers see the old read
// model until the commit and the new one from then on, and a rebuild that
// fails (a handler error, a crash, ctx ending) leaves the old one and its
// checkpoint untouched. Status shows StateRebuilding and Progress
// meanwhile. A live handler of the projection (here or in another process)
// waits on the checkpoint lock and then skips what the rebuild applied.
// Handler errors are not retried and no event is skipped: the rebuild fails
// with a *HandleError.
//
// Rebuild is for small read models and tests only: its one transaction
// holds a snapshot for the whole replay, which holds back the log's read
// fence (server-wide) and so stalls every reader of the log. Rebuild read
// models with catalog.Rebuild, which builds a new version beside the live
// one in page-sized transactions (CatchUpUntil) and switches.
// It returns errors wrapping ErrUnknownProjection,
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
		if err := flush(ctx, w, tx); err != nil {
			return fmt.Errorf("rebuild %s: %w", name, err)
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

// CatchUpUntil applies the log to the named projection from its checkpoint
// until the checkpoint reaches target (the log's head when a rebuild
// started), one transaction per page (Config.PageSize) like CatchUp, with
// the same retry and poison handling. When the store's fence holds back
// events below target (transactions committing late) it reads again until
// they are readable. Status shows StateRebuilding and Progress meanwhile.
// progress, when not nil, is called after each committed page with the
// checkpoint and the number of records read so far. Under
// WithAsyncCommit(ctx) the pages commit asynchronously. It returns the
// errors CatchUp returns, or ctx's error.
func (r *Runner) CatchUpUntil(ctx context.Context, name string, target domain.Position, progress func(at domain.Position, read int64)) error {
	w, err := r.worker(name)
	if err != nil {
		return err
	}
	if err := r.loadCheckpoint(ctx, w); err != nil {
		return err
	}
	w.clearFailure()
	w.mu.Lock()
	prev := w.state
	w.state = StateRebuilding
	w.rebuild = &Progress{Target: target, StartedAt: time.Now().UTC()}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.rebuild = nil
		if w.state == StateRebuilding {
			w.state = prev
		}
		w.mu.Unlock()
	}()
	var read int64
	for wait := time.Millisecond; w.pos() < target; wait = min(2*wait, time.Second) {
		before := w.pos()
		if err := r.catchUpPages(ctx, w, func(n int) {
			read += int64(n)
			at := w.pos()
			w.mu.Lock()
			w.rebuild.Position, w.rebuild.Events = at, read
			w.mu.Unlock()
			if progress != nil {
				progress(at, read)
			}
		}); err != nil {
			if errors.Is(err, errStopped) {
				return fmt.Errorf("projection %s stopped on a poison event: %w", name, err)
			}
			return err
		}
		if w.pos() > before {
			wait = time.Millisecond
			continue
		}
		select { // the fence holds back events below target
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return nil
}

// catchUpPages is catchUp calling done after each applied page. Pages are
// read and decoded one ahead of the one being applied, so decoding (the
// runtime's main CPU cost) overlaps the database's work. A page that fails
// goes through applyPage (retries, poison handling).
func (r *Runner) catchUpPages(ctx context.Context, w *worker, done func(n int)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan decodedPage, 1)
	go func() {
		defer close(pages)
		for pg := range r.prefetch(ctx, w.pos()) {
			dp := decodedPage{page: pg}
			if pg.err == nil {
				dp.evs = make([]decodedEvent, len(pg.recs))
				for i, rec := range pg.recs {
					dp.evs[i] = w.decode(rec)
				}
			}
			select {
			case pages <- dp:
			case <-ctx.Done():
				return
			}
		}
	}()
	for pg := range pages {
		if pg.err != nil {
			return fmt.Errorf("projection %s: read the log: %w", w.name, pg.err)
		}
		_, err := r.applyDecoded(ctx, w, pg.recs, pg.evs)
		var he *HandleError
		if errors.As(err, &he) && ctx.Err() == nil {
			err = r.applyPage(ctx, w, pg.recs)
		}
		if err != nil {
			return err
		}
		done(len(pg.recs))
	}
	return ctx.Err()
}

type decodedPage struct {
	page
	evs []decodedEvent
}
