package natsbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kaiku/kaiku/adapters/logbus"
	"github.com/kaiku/kaiku/domain"
)

// Log reads the log back from the JetStream stream the Forwarder fills. It
// implements the reading half of domain.EventStore (its appends return
// ErrReadOnly), domain.AppendNotifier and projections.LogStats, so a
// projections.Runner runs over it unchanged.
//
// Positions grow with the stream sequence (the Forwarder publishes in log
// order and the server refuses anything else), so the first message after
// a position is found by binary search over sequences on a cold start and
// from a small cursor cache (position → next sequence) afterwards.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    Config
	sub    *nats.Subscription

	mu     sync.Mutex
	cursor map[domain.Position]uint64 // last returned position → next sequence
	wake   chan struct{}              // closed and replaced on every message
}

const maxCursors = 4096

// NewLog returns a Log over cfg's stream on nc, creating the stream when it
// does not exist yet. It returns an error for an invalid cfg or when
// JetStream does not answer. Close it to stop its wake-up subscription.
func NewLog(ctx context.Context, nc *nats.Conn, cfg Config) (*Log, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	st, err := ensureStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	l := &Log{js: js, stream: st, cfg: cfg, cursor: map[domain.Position]uint64{}, wake: make(chan struct{})}
	l.sub, err = nc.Subscribe(cfg.Prefix+".>", func(*nats.Msg) { l.broadcast() })
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribe %s.>: %w", cfg.Prefix, err)
	}
	return l, nil
}

// Close stops the wake-up subscription; reads still work.
func (l *Log) Close() error {
	if err := l.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsbus: unsubscribe: %w", err)
	}
	return nil
}

func (l *Log) broadcast() {
	l.mu.Lock()
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}

// WaitForAppend returns when a message was published to the stream's
// subjects since the call (it may not be stored yet: a reader that finds
// nothing waits again), or with ctx's error.
func (l *Log) WaitForAppend(ctx context.Context) error {
	l.mu.Lock()
	w := l.wake
	l.mu.Unlock()
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Append returns an error wrapping ErrReadOnly.
func (l *Log) Append(context.Context, domain.StreamID, domain.Version, ...domain.Record) ([]domain.Record, error) {
	return nil, fmt.Errorf("natsbus: append: %w", ErrReadOnly)
}

// AppendBatch returns an error wrapping ErrReadOnly.
func (l *Log) AppendBatch(context.Context, []domain.StreamAppend) ([]domain.Record, error) {
	return nil, fmt.Errorf("natsbus: append: %w", ErrReadOnly)
}

// bounds returns the stream's first and last sequence (last 0: empty).
func (l *Log) bounds(ctx context.Context) (first, last uint64, err error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("natsbus: stream %s info: %w", l.cfg.Stream, err)
	}
	if info.State.Msgs == 0 {
		return 0, 0, nil
	}
	return info.State.FirstSeq, info.State.LastSeq, nil
}

// positionAt reads the position of the message at seq.
func (l *Log) positionAt(ctx context.Context, seq uint64) (domain.Position, error) {
	m, err := l.stream.GetMsg(ctx, seq)
	if err != nil {
		return 0, fmt.Errorf("natsbus: message %d of %s: %w", seq, l.cfg.Stream, err)
	}
	return headerPosition(m.Header, seq)
}

func headerPosition(h nats.Header, seq uint64) (domain.Position, error) {
	p, err := strconv.ParseInt(h.Get(logbus.MetaPosition), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("natsbus: message %d has no position header: %w", seq, err)
	}
	return domain.Position(p), nil
}

// seqAfter returns the sequence of the first message with a position >
// after, or last+1 when there is none.
func (l *Log) seqAfter(ctx context.Context, after domain.Position, first, last uint64) (uint64, error) {
	if after <= 0 {
		return first, nil
	}
	l.mu.Lock()
	s, ok := l.cursor[after]
	l.mu.Unlock()
	if ok && s >= first && s <= last+1 {
		return s, nil
	}
	lo, hi := first, last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		p, err := l.positionAt(ctx, mid)
		if err != nil {
			return 0, err
		}
		if p > after {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	l.remember(after, lo)
	return lo, nil
}

func (l *Log) remember(p domain.Position, next uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cursor) >= maxCursors {
		clear(l.cursor)
	}
	l.cursor[p] = next
}

// ReadAll returns at most limit records with Position > after, in global
// order: the stream holds the log in order, without gaps, as far as the
// Forwarder got. It returns NATS's error when the stream cannot be read,
// or an error naming the message whose envelope does not decode.
func (l *Log) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	first, last, err := l.bounds(ctx)
	if err != nil || last == 0 {
		return nil, err
	}
	start, err := l.seqAfter(ctx, after, first, last)
	if err != nil || start > last {
		return nil, err
	}
	n := min(uint64(limit), last-start+1)
	recs, lastSeq, err := l.fetch(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
	}, int(n))
	if err != nil {
		return nil, err
	}
	if len(recs) > 0 {
		l.remember(recs[len(recs)-1].Position, lastSeq+1)
	}
	return recs, nil
}

// fetch reads n messages through a short-lived ephemeral consumer.
func (l *Log) fetch(ctx context.Context, cc jetstream.ConsumerConfig, n int) ([]domain.Record, uint64, error) {
	cc.AckPolicy = jetstream.AckNonePolicy
	cc.InactiveThreshold = 30 * time.Second
	cc.MemoryStorage = true
	cons, err := l.js.CreateConsumer(ctx, l.cfg.Stream, cc)
	if err != nil {
		return nil, 0, fmt.Errorf("natsbus: read %s: %w", l.cfg.Stream, err)
	}
	defer func() {
		// Best effort: the server drops it after InactiveThreshold anyway.
		_ = l.js.DeleteConsumer(ctx, l.cfg.Stream, cons.CachedInfo().Name)
	}()
	out := make([]domain.Record, 0, n)
	var lastSeq uint64
	var um wmnats.NATSMarshaler
	for len(out) < n {
		wait := 5 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, max(time.Until(dl), time.Millisecond))
		}
		batch, err := cons.Fetch(n-len(out), jetstream.FetchMaxWait(wait))
		if err != nil {
			return nil, 0, fmt.Errorf("natsbus: read %s: %w", l.cfg.Stream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, 0, fmt.Errorf("natsbus: read %s: %w", l.cfg.Stream, err)
			}
			msg, err := um.Unmarshal(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
			if err != nil {
				return nil, 0, fmt.Errorf("natsbus: message %d: %w", md.Sequence.Stream, err)
			}
			rec, err := logbus.MessageToRecord(msg)
			if err != nil {
				return nil, 0, fmt.Errorf("natsbus: message %d: %w", md.Sequence.Stream, err)
			}
			out = append(out, rec)
			lastSeq = md.Sequence.Stream
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, 0, fmt.Errorf("natsbus: read %s: %w", l.cfg.Stream, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if got == 0 {
			return nil, 0, fmt.Errorf("natsbus: read %s: %d of %d messages arrived", l.cfg.Stream, len(out), n)
		}
	}
	return out, lastSeq, nil
}

// ReadStream returns the stream's records with Version > after, in
// version order, by a consumer filtered on the stream's subject. A stream
// that does not exist is empty. It returns NATS's error when the stream
// cannot be read.
func (l *Log) ReadStream(ctx context.Context, stream domain.StreamID, after domain.Version) ([]domain.Record, error) {
	cons, err := l.js.CreateConsumer(ctx, l.cfg.Stream, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		FilterSubject:     l.cfg.subject(stream),
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: 30 * time.Second,
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: read stream %s: %w", stream, err)
	}
	n := int(cons.CachedInfo().NumPending)
	_ = l.js.DeleteConsumer(ctx, l.cfg.Stream, cons.CachedInfo().Name)
	if n == 0 {
		return nil, nil
	}
	recs, _, err := l.fetch(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: l.cfg.subject(stream),
	}, n)
	if err != nil {
		return nil, err
	}
	out := recs[:0]
	for _, r := range recs {
		if r.Version > after {
			out = append(out, r)
		}
	}
	return out, nil
}

// Head returns the position of the last forwarded record, 0 for an empty
// stream (projections.LogStats).
func (l *Log) Head(ctx context.Context) (domain.Position, error) {
	_, last, err := l.bounds(ctx)
	if err != nil || last == 0 {
		return 0, err
	}
	return l.positionAt(ctx, last)
}

// CountAfter returns how many forwarded records have a position > after
// (projections.LogStats).
func (l *Log) CountAfter(ctx context.Context, after domain.Position) (int64, error) {
	first, last, err := l.bounds(ctx)
	if err != nil || last == 0 {
		return 0, err
	}
	start, err := l.seqAfter(ctx, after, first, last)
	if err != nil {
		return 0, err
	}
	return int64(last + 1 - start), nil
}

var _ domain.EventStore = (*Log)(nil)
var _ domain.AppendNotifier = (*Log)(nil)
