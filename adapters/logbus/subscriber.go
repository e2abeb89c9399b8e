package logbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kaiku/kaiku/domain"
)

// AllTopic is the topic of the whole global log.
const AllTopic = "events"

// ErrClosed is returned by Subscribe and Publish after Close.
var ErrClosed = errors.New("logbus: closed")

// SubscriberConfig configures a Subscriber. The zero value of every field
// but Store is usable.
type SubscriberConfig struct {
	// Store is the log to read. Required.
	Store domain.EventStore
	// From returns the position a subscription to topic starts after: the
	// subscriber delivers records with Position > From. Projections pass
	// their checkpoint here so that they resume. Nil starts at 0, the
	// beginning of the log.
	From func(ctx context.Context, topic string) (domain.Position, error)
	// PageSize is how many records one ReadAll fetches. Default 1000.
	PageSize int
	// PollInterval is how long a caught-up subscription sleeps before
	// reading again when the store is no domain.AppendNotifier.
	// Default 100ms.
	PollInterval time.Duration
	// MaxWait bounds a wait on domain.AppendNotifier: a wakeup can come
	// before the appended events pass the store's visibility fence, so the
	// subscriber reads again at least this often. Default 500ms.
	MaxWait time.Duration
	// NackResendDelay is how long the subscriber waits before it delivers
	// a nacked message again. Default 10ms.
	NackResendDelay time.Duration
	// Logger defaults to watermill.NopLogger.
	Logger watermill.LoggerAdapter
}

func (c *SubscriberConfig) setDefaults() {
	if c.PageSize <= 0 {
		c.PageSize = 1000
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.NackResendDelay <= 0 {
		c.NackResendDelay = 10 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

// Validate reports a missing Store.
func (c SubscriberConfig) Validate() error {
	if c.Store == nil {
		return errors.New("logbus: SubscriberConfig.Store is required")
	}
	return nil
}

// Subscriber is a message.Subscriber over the global log. Each Subscribe
// call is an independent cursor: every subscription receives every
// matching record (there are no consumer groups).
type Subscriber struct {
	cfg      SubscriberConfig
	notifier domain.AppendNotifier

	mu      sync.Mutex
	closed  bool
	cancels []context.CancelFunc
	wg      sync.WaitGroup
}

// NewSubscriber returns a Subscriber reading cfg.Store. It returns an error
// when the config is invalid.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &Subscriber{cfg: cfg}
	s.notifier, _ = cfg.Store.(domain.AppendNotifier)
	return s, nil
}

// Subscribe starts a subscription to topic (AllTopic, a stream category or
// a stream) after the position cfg.From gives, and returns its channel.
//
// Guarantees: records arrive in global position order, one at a time: the
// next is sent only after the previous is acked. A nacked message is sent
// again (as a new *message.Message with the same UUID) until acked, so no
// record is ever skipped. Every message's context ends when it is acked or
// nacked, or when the subscription ends. The channel is closed when ctx
// ends or Close is called. Subscribe returns ErrClosed after Close, and
// cfg.From's error.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancels = append(s.cancels, cancel)
	s.wg.Add(1)
	s.mu.Unlock()

	var after domain.Position
	if s.cfg.From != nil {
		var err error
		if after, err = s.cfg.From(ctx, topic); err != nil {
			cancel()
			s.wg.Done()
			return nil, fmt.Errorf("logbus: start position of %q: %w", topic, err)
		}
	}
	out := make(chan *message.Message)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		s.run(ctx, topic, after, out)
	}()
	return out, nil
}

func (s *Subscriber) run(ctx context.Context, topic string, after domain.Position, out chan<- *message.Message) {
	log := s.cfg.Logger.With(watermill.LogFields{"topic": topic})
	var page []domain.Record
	for {
		if len(page) == 0 {
			recs, err := s.cfg.Store.ReadAll(ctx, after, s.cfg.PageSize)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				log.Error("Reading the log failed, retrying", err, watermill.LogFields{"after": after})
				if !sleep(ctx, s.cfg.PollInterval) {
					return
				}
				continue
			case len(recs) == 0:
				if !s.wait(ctx) {
					return
				}
				continue
			}
			page = recs
		}
		rec := page[0]
		if Matches(topic, rec.Stream) {
			for {
				acked, ok := deliver(ctx, rec, out)
				if !ok {
					return
				}
				if acked {
					break
				}
				if !sleep(ctx, s.cfg.NackResendDelay) {
					return
				}
			}
		}
		after = rec.Position
		page = page[1:]
	}
}

// Matches reports whether a record of stream belongs to topic: AllTopic
// takes every stream, any other topic its category or the stream itself.
func Matches(topic string, stream domain.StreamID) bool {
	return topic == AllTopic || topic == string(stream) || topic == stream.Category()
}

// deliver sends rec and waits for its ack (true) or nack (false); ok is
// false when the subscription ended first.
func deliver(ctx context.Context, rec domain.Record, out chan<- *message.Message) (acked, ok bool) {
	msg := RecordToMessage(rec)
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(msgCtx)
	select {
	case out <- msg:
	case <-ctx.Done():
		return false, false
	}
	select {
	case <-msg.Acked():
		return true, true
	case <-msg.Nacked():
		return false, true
	case <-ctx.Done():
		return false, false
	}
}

// wait blocks until the store may have something new; false when ctx ended.
func (s *Subscriber) wait(ctx context.Context) bool {
	if s.notifier == nil {
		return sleep(ctx, s.cfg.PollInterval)
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.MaxWait)
	defer cancel()
	if err := s.notifier.WaitForAppend(wctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		// A broken notifier must not turn into a busy loop.
		s.cfg.Logger.Error("Waiting for appends failed", err, nil)
		return sleep(ctx, s.cfg.PollInterval)
	}
	return ctx.Err() == nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close ends every subscription and returns once their channels are
// closed. It is idempotent and never fails.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	cancels := s.cancels
	s.cancels = nil
	s.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	s.wg.Wait()
	return nil
}
