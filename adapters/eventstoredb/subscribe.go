package eventstoredb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
)

// subscriber opens catch-up subscriptions to $all. *esdb.Client fits it
// through clientSubscriber; tests drive drops and re-deliveries with a fake.
type subscriber interface {
	SubscribeToAll(ctx context.Context, opts esdb.SubscribeToAllOptions) (subscription, error)
}

// subscription is one open subscription, as *esdb.Subscription offers it.
// Recv blocks until an event, a checkpoint or the drop (ctx ending drops
// it too).
type subscription interface {
	Recv() *esdb.SubscriptionEvent
	Close() error
}

// clientSubscriber adapts *esdb.Client to subscriber.
type clientSubscriber struct{ c *esdb.Client }

func (c clientSubscriber) SubscribeToAll(ctx context.Context, opts esdb.SubscribeToAllOptions) (subscription, error) {
	sub, err := c.c.SubscribeToAll(ctx, opts)
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// defaultBackoff waits 100ms before the first resubscription, doubling up
// to 5s while the server stays away.
func defaultBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < attempt && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// handlerError carries the error a Subscribe handler returned, so the
// resubscription loop tells it from a drop.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// Subscribe calls handle with every record of the global log with
// Position > from, in order, first catching up and then following new
// appends live, until ctx ends or handle fails. from 0 starts at the very
// beginning of the log (the client's own default would be its end).
// KurrentDB's system events and Kaiku's internal streams are skipped, as
// ReadAll skips them.
//
// Delivery is exactly once and in order within one call: when the
// subscription drops (the server restarts, the connection breaks, the
// server drops a slow subscriber), Subscribe subscribes again from the last
// record it saw, waiting a little longer after each failed attempt, and
// skips anything the server delivers again at or before that position.
// A record counts as delivered once handle returns nil for it; callers
// that store their own checkpoint pass it as from after a restart.
//
// Subscribe returns ctx.Err() when ctx ends, handle's error (wrapped) when
// handle fails, and an error when the server refuses the subscription for
// good (authentication, access) or a record does not decode.
func (s *Store) Subscribe(ctx context.Context, from domain.Position, handle func(domain.Record) error) error {
	last := esdb.Position{Commit: uint64(max(from, 0)), Prepare: uint64(max(from, 0))}
	if comparePositions(last, s.floor) < 0 {
		last = s.floor
	}
	for attempt := 0; ; {
		start := esdb.AllPosition(last)
		if last == (esdb.Position{}) {
			start = esdb.Start{}
		}
		sub, err := s.subs.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
			From:   start,
			Filter: esdb.ExcludeSystemEventsFilter(),
		})
		if err == nil {
			var delivered bool
			delivered, err = s.follow(sub, &last, handle)
			_ = sub.Close()
			if delivered {
				attempt = 0
			}
			var herr *handlerError
			if errors.As(err, &herr) {
				return fmt.Errorf("subscribe to $all: %w", herr.err)
			}
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		err = mapError(ctx, err)
		if permanent(err) {
			return fmt.Errorf("subscribe to $all: %w", err)
		}
		attempt++
		slog.Warn("kurrentdb subscription dropped; subscribing again", "after", last.Commit, "attempt", attempt, "err", err)
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return err
		}
	}
}

// follow hands the subscription's records after last to handle, advancing
// last, until the subscription drops or handle or decoding fails. It
// reports whether it saw any event, so the caller can reset its backoff.
func (s *Store) follow(sub subscription, last *esdb.Position, handle func(domain.Record) error) (bool, error) {
	seen := false
	for {
		ev := sub.Recv()
		switch {
		case ev == nil:
			return seen, errors.New("subscription returned nothing")
		case ev.SubscriptionDropped != nil:
			err := ev.SubscriptionDropped.Error
			if err == nil {
				err = errors.New("subscription dropped")
			}
			return seen, err
		case ev.EventAppeared != nil:
			seen = true
			r, ok, err := s.accept(ev.EventAppeared, last)
			if err != nil {
				// Not retryable: the same event would fail again.
				return seen, &handlerError{err: err}
			}
			if !ok {
				continue
			}
			if err := handle(r); err != nil {
				// Not delivered: a new Subscribe from the caller's
				// checkpoint gets it again.
				return seen, &handlerError{err: fmt.Errorf("handle %s/%d at position %d: %w", r.Stream, r.Version, r.Position, err)}
			}
		}
		// Checkpoints, caught-up and fell-behind notices need nothing:
		// resuming from the last event seen is exact.
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
