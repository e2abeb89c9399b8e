package logbus

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kaiku/kaiku/domain"
)

// Publisher is a message.Publisher that appends messages to the log.
type Publisher struct {
	store  domain.EventStore
	closed atomic.Bool
}

// NewPublisher returns a Publisher appending to store.
func NewPublisher(store domain.EventStore) *Publisher { return &Publisher{store: store} }

// Publish appends msgs to the log, atomically: all of them or none.
//
// Each message goes to the stream its MetaStream metadata names, else to
// the stream named topic. A message with envelope metadata (MetaType) is
// stored as that event (MessageToRecord: its UUID is the event id and must
// be a UUID, its payload must be JSON; Position, Version and RecordedAt are
// assigned by the store, and metadata outside the envelope is not kept).
// A message without envelope is kept whole as a ForeignType record whose
// event id derives from the stream and the message UUID.
//
// Messages of one stream are appended in the order given, with the
// expected version of the first one's MetaExpectedVersion (AnyVersion when
// absent). Publishing the same messages again stores nothing (appends are
// idempotent by event id). Errors wrap domain.ErrConflict on a version
// conflict; Publish returns ErrClosed after Close.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	var batch []domain.StreamAppend
	index := map[domain.StreamID]int{}
	for _, msg := range msgs {
		stream := domain.StreamID(msg.Metadata.Get(MetaStream))
		if stream == "" {
			stream = domain.StreamID(topic)
		}
		var rec domain.Record
		var err error
		if msg.Metadata.Get(MetaType) == "" {
			rec, err = foreignRecord(stream, msg)
		} else {
			rec, err = MessageToRecord(msg)
			rec.Stream, rec.Position, rec.Version, rec.RecordedAt = stream, 0, 0, time.Time{}
			if rec.OccurredAt.IsZero() {
				rec.OccurredAt = time.Now().UTC()
			}
		}
		if err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		i, ok := index[stream]
		if !ok {
			expected := domain.AnyVersion
			if s := msg.Metadata.Get(MetaExpectedVersion); s != "" {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return fmt.Errorf("publish to %s: metadata %s: %w", topic, MetaExpectedVersion, err)
				}
				expected = domain.Version(v)
			}
			i = len(batch)
			index[stream] = i
			batch = append(batch, domain.StreamAppend{Stream: stream, Expected: expected})
		}
		batch[i].Records = append(batch[i].Records, rec)
	}
	ctx := msgs[0].Context()
	var err error
	if len(batch) == 1 {
		_, err = p.store.Append(ctx, batch[0].Stream, batch[0].Expected, batch[0].Records...)
	} else {
		_, err = p.store.AppendBatch(ctx, batch)
	}
	if err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// Close makes later Publish calls fail with ErrClosed. It never fails.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}
