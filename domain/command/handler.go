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

	cacheOn     bool
	cacheTTL    time.Duration
	cacheEvents int
	cache       *cache // nil without WithCache
}

// Option configures a Handler.
type Option func(*Handler)

// WithClock sets the clock that gives "today" (in Europe/Helsinki) to
// commands without a business date and to the window of business dates
// (default time.Now).
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
	h := &Handler{store: store, now: time.Now, retries: 5, cacheEvents: DefaultCacheEvents}
	for _, o := range opts {
		o(h)
	}
	if h.cacheOn {
		h.cache = newCache(h.cacheTTL, h.cacheEvents)
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
// facts everywhere (within the cache's window for reference streams).
//
// With a cache the first attempt decides on the cached stream without
// reading it: the append's expected version guards a decision to append.
// A decision not to append (a refusal, or nothing to do) is not guarded,
// so when it was taken on unconfirmed cached state the stream is read
// fresh and the decision taken again before it is returned.
func update[A aggregate](ctx context.Context, h *Handler, md domain.Metadata, on domain.Date, stream domain.StreamID,
	load func([]domain.Event) A, decide func(ctx context.Context, a A) error) (Result, error) {
	mode := target
	for attempt := 0; ; attempt++ {
		events, version, unconfirmed, err := h.load(ctx, stream, mode)
		if err != nil {
			return Result{}, err
		}
		mode = fresh
		a := load(events)
		err = decide(ctx, a)
		if err == nil && len(a.Changes()) == 0 {
			if unconfirmed {
				attempt--
				continue
			}
			return Result{}, nil
		}
		if err != nil {
			if unconfirmed && ctx.Err() == nil {
				attempt--
				continue
			}
			return Result{}, err
		}
		records, err := encode(a.Changes(), md, on)
		if err != nil {
			return Result{}, err
		}
		started := h.cacheNow()
		out, err := h.store.Append(ctx, stream, version, records...)
		if errors.Is(err, domain.ErrConflict) && attempt < h.retries && ctx.Err() == nil {
			continue
		}
		if err != nil {
			if !errors.Is(err, domain.ErrConflict) {
				h.forget(stream)
			}
			return Result{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		h.wrote(stream, events, version, out, started)
		return Result{Records: out}, nil
	}
}

// read returns the decoded events of stream with a version above after,
// and the stream's version (after when there are none; NoStream for an
// empty stream read from the start).
func (h *Handler) read(ctx context.Context, stream domain.StreamID, after domain.Version) ([]domain.Event, domain.Version, error) {
	records, err := h.store.ReadStream(ctx, stream, after)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", stream, err)
	}
	events := make([]domain.Event, len(records))
	for i, r := range records {
		if events[i], err = domain.Decode(r); err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", stream, err)
		}
	}
	version := after
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

// date returns d, or today when d is zero.
func (h *Handler) date(d domain.Date) domain.Date {
	if d.IsZero() {
		return h.today()
	}
	return d
}

// today is the date in Finland by the handler's clock.
func (h *Handler) today() domain.Date { return domain.Today(h.now()) }

func notFound(kind string, id any) error {
	return fmt.Errorf("%s %q: %w", kind, id, domain.ErrNotFound)
}

// cacheNow is the cache's clock (the zero time without a cache).
func (h *Handler) cacheNow() time.Time {
	if h.cache == nil {
		return time.Time{}
	}
	return h.cache.now()
}
