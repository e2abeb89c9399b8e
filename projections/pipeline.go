package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/kaiku/kaiku/adapters/logbus"
	"github.com/kaiku/kaiku/domain"
)

// chain builds the handler both paths run a message through:
// poison(retry(recoverer(apply the message and what waits behind it))).
func (r *Runner) chain(w *worker) message.NoPublishHandlerFunc {
	retry := r.cfg.Retry
	retry.Logger = r.cfg.Logger
	retry.ShouldRetry = func(p middleware.RetryParams) bool {
		return !errors.Is(p.Err, errStopped) && !errors.Is(p.Err, context.Canceled)
	}
	retry.OnRetryHook = func(int, time.Duration) { r.metrics.errors.WithLabelValues(w.name).Inc() }
	h := middleware.Recoverer(r.base(w))
	h = retry.Middleware(h)
	h = r.poison(w)(h)
	return func(msg *message.Message) error {
		_, err := h(msg)
		return err
	}
}

// base applies the message's record and the records already waiting
// behind it (up to BatchSize) in one transaction. When a later record of
// the batch fails, it commits those before it and returns nil: the failing
// one arrives next as its own message, so retries and poison handling
// always concern the message at hand.
func (r *Runner) base(w *worker) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if w.failed() {
			return nil, errStopped
		}
		ctx := msg.Context()
		rec, err := logbus.MessageToRecord(msg)
		if err != nil {
			return nil, err
		}
		if rec.Position <= w.pos() {
			return nil, nil // redelivered, or applied with an earlier batch
		}
		recs := []domain.Record{rec}
		if r.cfg.BatchSize > 1 {
			// Best effort: without the extra records the batch is just smaller.
			if more, err := r.cfg.Store.ReadAll(ctx, rec.Position, r.cfg.BatchSize-1); err == nil {
				recs = append(recs, more...)
			}
		}
		_, err = r.applyBatch(ctx, w, recs)
		var he *HandleError
		if errors.As(err, &he) && he.index > 0 {
			_, err = r.applyBatch(ctx, w, recs[:he.index])
		}
		return nil, err
	}
}

// poison handles an event that still fails after the retries: it parks
// it, then skips it or stops the projection (errStopped).
func (r *Runner) poison(w *worker) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil || errors.Is(err, errStopped) || msg.Context().Err() != nil {
				return out, err
			}
			r.metrics.errors.WithLabelValues(w.name).Inc()
			rec, cerr := logbus.MessageToRecord(msg)
			if cerr != nil {
				return nil, err
			}
			if perr := r.park(msg.Context(), w, rec, err); perr != nil {
				return nil, fmt.Errorf("%w (and parking it failed: %v)", err, perr)
			}
			r.cfg.Logger.Error("Poison event parked", err, watermill.LogFields{
				"projection": w.name, "position": rec.Position, "skipped": w.policy == PoisonSkip,
			})
			if w.policy == PoisonSkip {
				return nil, nil
			}
			w.fail(rec, err)
			return nil, errStopped
		}
	}
}

// CatchUp applies the log to the named projection from its checkpoint
// until it has seen the whole readable log (a page comes back short; the
// store's fence may still hold back events of transactions that commit
// late, which Run's live phase then picks up), on the fast
// path, with the same retry and poison handling as Run. It is what Run
// does first; `kaiku rebuild` and tests call it directly. It returns an
// error wrapping ErrUnknownProjection, a *HandleError-wrapping error when
// the projection stopped on a poison event, or the database's or store's
// error.
func (r *Runner) CatchUp(ctx context.Context, name string) error {
	w, err := r.worker(name)
	if err != nil {
		return err
	}
	if err := r.loadCheckpoint(ctx, w); err != nil {
		return err
	}
	w.clearFailure()
	err = r.catchUp(ctx, w)
	if errors.Is(err, errStopped) {
		w.mu.Lock()
		f := w.failure
		w.mu.Unlock()
		if f != nil {
			return fmt.Errorf("projection %s stopped on the event at position %d (%s): %s: %w", name, f.Position, f.Type, f.Error, errStopped)
		}
	}
	return err
}

type page struct {
	recs []domain.Record
	err  error
}

// prefetch reads the log after `after` page by page into a channel that
// holds one page ahead, so reading overlaps applying. It stops after a
// short page, an error, or when ctx ends.
func (r *Runner) prefetch(ctx context.Context, after domain.Position) <-chan page {
	out := make(chan page, 1)
	go func() {
		defer close(out)
		for {
			recs, err := r.cfg.Store.ReadAll(ctx, after, r.cfg.PageSize)
			select {
			case out <- page{recs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(recs) < r.cfg.PageSize {
				return
			}
			after = recs[len(recs)-1].Position
		}
	}()
	return out
}

func (r *Runner) catchUp(ctx context.Context, w *worker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for pg := range r.prefetch(ctx, w.pos()) {
		if pg.err != nil {
			return fmt.Errorf("projection %s: read the log: %w", w.name, pg.err)
		}
		if err := r.applyPage(ctx, w, pg.recs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// applyPage applies one page in one transaction; when a record fails it
// commits those before it and sends the failing one through the
// middleware chain (retries, then poison handling).
func (r *Runner) applyPage(ctx context.Context, w *worker, recs []domain.Record) error {
	for len(recs) > 0 {
		_, err := r.applyBatch(ctx, w, recs)
		if err == nil {
			return nil
		}
		var he *HandleError
		if !errors.As(err, &he) || ctx.Err() != nil {
			return err
		}
		if he.index > 0 {
			if _, err := r.applyBatch(ctx, w, recs[:he.index]); err != nil && !errors.As(err, &he) {
				return err
			} else if err == nil {
				recs = recs[he.index:]
			}
			continue
		}
		msg := logbus.RecordToMessage(recs[0])
		msg.SetContext(ctx)
		if err := w.chain(msg); err != nil {
			return err
		}
		recs = recs[1:]
	}
	return nil
}

// live follows the log as a Watermill router handler until ctx ends or the
// projection stops on a poison event (errStopped).
func (r *Runner) live(ctx context.Context, w *worker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.setStopLive(cancel)
	defer w.setStopLive(nil)
	sub, err := logbus.NewSubscriber(logbus.SubscriberConfig{
		Store:        r.cfg.Store,
		From:         func(context.Context, string) (domain.Position, error) { return w.pos(), nil },
		PageSize:     r.cfg.PageSize,
		PollInterval: r.cfg.PollInterval,
		MaxWait:      r.cfg.MaxWait,
		Logger:       r.cfg.Logger,
	})
	if err != nil {
		return err
	}
	defer sub.Close()
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, r.cfg.Logger)
	if err != nil {
		return fmt.Errorf("projection %s: router: %w", w.name, err)
	}
	router.AddNoPublisherHandler(w.handler, logbus.AllTopic, sub, w.chain)
	if err := router.Run(ctx); err != nil {
		return fmt.Errorf("projection %s: router: %w", w.name, err)
	}
	if w.failed() {
		return errStopped
	}
	if ctx.Err() == nil {
		return fmt.Errorf("projection %s: router stopped", w.name)
	}
	return nil
}
