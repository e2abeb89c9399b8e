package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Handler runs commands against an event store. It is safe for
// concurrent use.
type Handler struct {
	store   domain.EventStore
	now     func() time.Time
	retries int
}

// Option configures a Handler.
type Option func(*Handler)

// WithClock sets the clock that gives "today" to commands without a
// business date (default time.Now, read in UTC).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithRetries sets how many times a command is reloaded and decided again
// after a version conflict before the conflict is returned (default 5).
// With n concurrent writers to one stream, n-1 retries always suffice: each
// lost race means another writer's append succeeded.
func WithRetries(n int) Option {
	return func(h *Handler) {
		if n >= 0 {
			h.retries = n
		}
	}
}

// New returns a Handler over store.
func New(store domain.EventStore, opts ...Option) *Handler {
	h := &Handler{store: store, now: time.Now, retries: 5}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Result is what a command appended.
type Result struct {
	// Records are the appended events with their ids, streams, versions
	// and positions, in append order.
	Records []domain.Record
	// UseID is the id of the use RecordUse recorded (chosen by the handler
	// when the command left it empty).
	UseID string
}

// Position returns the global position of the last appended event, or 0.
func (r Result) Position() domain.Position {
	if len(r.Records) == 0 {
		return 0
	}
	return r.Records[len(r.Records)-1].Position
}

// aggregate is what every aggregate offers the handler.
type aggregate interface {
	Changes() []domain.Event
}

// update loads stream into an aggregate, decides, and appends the
// aggregate's changes at the version read. decide loads any other
// aggregates it needs itself, so that a retry after a conflict sees fresh
// facts everywhere.
func update[A aggregate](ctx context.Context, h *Handler, md domain.Metadata, on domain.Date, stream domain.StreamID,
	load func([]domain.Event) A, decide func(ctx context.Context, a A) error) (Result, error) {
	for attempt := 0; ; attempt++ {
		events, version, err := h.read(ctx, stream)
		if err != nil {
			return Result{}, err
		}
		a := load(events)
		if err := decide(ctx, a); err != nil {
			return Result{}, err
		}
		records, err := encode(a.Changes(), md, on)
		if err != nil {
			return Result{}, err
		}
		if len(records) == 0 {
			return Result{}, nil
		}
		out, err := h.store.Append(ctx, stream, version, records...)
		if errors.Is(err, domain.ErrConflict) && attempt < h.retries && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		return Result{Records: out}, nil
	}
}

// read returns the decoded events of stream and its version (NoStream
// when it is empty).
func (h *Handler) read(ctx context.Context, stream domain.StreamID) ([]domain.Event, domain.Version, error) {
	records, err := h.store.ReadStream(ctx, stream, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", stream, err)
	}
	events := make([]domain.Event, len(records))
	for i, r := range records {
		if events[i], err = domain.Decode(r); err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", stream, err)
		}
	}
	version := domain.NoStream
	if n := len(records); n > 0 {
		version = records[n-1].Version
	}
	return events, version, nil
}

// encode turns events into records carrying md, with OccurredAt set to
// the business date at 00:00 UTC.
func encode(events []domain.Event, md domain.Metadata, on domain.Date) ([]domain.Record, error) {
	md.OccurredAt = on.Time()
	out := make([]domain.Record, len(events))
	for i, e := range events {
		r, err := domain.Encode(e, md)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// date returns d, or today by the handler's clock when d is zero.
func (h *Handler) date(d domain.Date) domain.Date {
	if d.IsZero() {
		return domain.DateOf(h.now().UTC())
	}
	return d
}

func notFound(kind string, id any) error {
	return fmt.Errorf("%s %q: %w", kind, id, domain.ErrNotFound)
}
