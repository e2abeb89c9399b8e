package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Mem is an event store in memory: a map of streams over one ordered log.
// The benchmark runs the dataset's commands through the command handlers
// over it to produce the import quickly; it keeps every guarantee of
// domain.EventStore (atomic, optimistic, idempotent appends; a dense
// global order in which every committed record is visible at once).
type Mem struct {
	mu      sync.RWMutex
	log     []domain.Record // position p is log[p-1]
	streams map[domain.StreamID][]int
	ids     map[domain.EventID]int // event id -> index in log
	now     func() time.Time
}

var _ domain.EventStore = (*Mem)(nil)

// NewMem returns an empty in-memory store.
func NewMem() *Mem {
	return &Mem{streams: map[domain.StreamID][]int{}, ids: map[domain.EventID]int{}, now: time.Now}
}

// Len returns how many records the log holds.
func (m *Mem) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.log)
}

// Log returns the records of the log in global order. The slice is the
// store's own; the caller must not change it, nor append to the store while
// it uses it.
func (m *Mem) Log() []domain.Record {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.log
}

// Append appends records to stream at expected version; see
// domain.EventStore for the errors (ErrConflict) and guarantees.
func (m *Mem) Append(ctx context.Context, stream domain.StreamID, expected domain.Version, records ...domain.Record) ([]domain.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	return m.AppendBatch(ctx, []domain.StreamAppend{{Stream: stream, Expected: expected, Records: records}})
}

// AppendBatch appends to several streams atomically; each part is checked
// as Append checks it, and a stream may appear only once. It returns an
// error wrapping domain.ErrConflict when a part is not at its expected
// version or an event id is taken (unless every id of the batch was
// already appended to its stream: then it returns the stored records).
func (m *Mem) AppendBatch(ctx context.Context, batch []domain.StreamAppend) ([]domain.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seenStream := map[domain.StreamID]bool{}
	seenID := map[domain.EventID]bool{}
	var n, known int
	for _, p := range batch {
		if p.Stream == "" {
			return nil, errors.New("append: empty stream id")
		}
		if p.Expected < domain.AnyVersion {
			return nil, fmt.Errorf("append to %s: expected version %d is invalid", p.Stream, p.Expected)
		}
		if len(p.Records) == 0 {
			continue
		}
		if seenStream[p.Stream] {
			return nil, fmt.Errorf("append batch: stream %s appears twice; merge its parts", p.Stream)
		}
		seenStream[p.Stream] = true
		for _, r := range p.Records {
			if r.ID == "" || r.Type == "" {
				return nil, fmt.Errorf("append to %s: a record lacks its id or type", p.Stream)
			}
			if seenID[r.ID] {
				return nil, fmt.Errorf("append to %s: event id %s appears twice in one append", p.Stream, r.ID)
			}
			seenID[r.ID] = true
			n++
			if i, ok := m.ids[r.ID]; ok {
				if m.log[i].Stream != p.Stream {
					return nil, fmt.Errorf("append to %s: event id %s is in stream %s: %w", p.Stream, r.ID, m.log[i].Stream, domain.ErrConflict)
				}
				known++
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	if known == n { // an idempotent retry
		out := make([]domain.Record, 0, n)
		for _, p := range batch {
			for _, r := range p.Records {
				out = append(out, m.log[m.ids[r.ID]])
			}
		}
		return out, nil
	}
	if known > 0 {
		return nil, fmt.Errorf("append: some event ids were already appended: %w", domain.ErrConflict)
	}
	for _, p := range batch {
		if len(p.Records) == 0 || p.Expected == domain.AnyVersion {
			continue
		}
		if v := domain.Version(len(m.streams[p.Stream])); v != p.Expected {
			return nil, fmt.Errorf("append to %s at version %d: the stream is at %d: %w", p.Stream, p.Expected, v, domain.ErrConflict)
		}
	}
	now := m.now().UTC()
	out := make([]domain.Record, 0, n)
	for _, p := range batch {
		for _, r := range p.Records {
			idx := len(m.log)
			r.Stream = p.Stream
			r.Version = domain.Version(len(m.streams[p.Stream]) + 1)
			r.Position = domain.Position(idx + 1)
			r.RecordedAt = now
			m.log = append(m.log, r)
			m.streams[p.Stream] = append(m.streams[p.Stream], idx)
			m.ids[r.ID] = idx
			out = append(out, r)
		}
	}
	return out, nil
}

// ReadStream returns the stream's records with Version > after, in
// version order; a missing stream is empty.
func (m *Mem) ReadStream(ctx context.Context, stream domain.StreamID, after domain.Version) ([]domain.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	idx := m.streams[stream]
	if after < 0 {
		after = 0
	}
	if int(after) >= len(idx) {
		return nil, nil
	}
	out := make([]domain.Record, 0, len(idx)-int(after))
	for _, i := range idx[after:] {
		out = append(out, m.log[i])
	}
	return out, nil
}

// ReadAll returns at most limit records with Position > after, in order.
func (m *Mem) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if after < 0 {
		after = 0
	}
	if int(after) >= len(m.log) || limit <= 0 {
		return nil, nil
	}
	end := min(len(m.log), int(after)+limit)
	return append([]domain.Record(nil), m.log[after:end]...), nil
}

// importBatches cuts the log into AppendBatch calls of about size records
// that keep the log's global order exactly: consecutive records of one
// stream share a part, and a batch ends when it is full or when a stream
// it already holds comes back after another stream (AppendBatch takes a
// stream once).
func importBatches(log []domain.Record, size int) [][]domain.StreamAppend {
	var out [][]domain.StreamAppend
	var cur []domain.StreamAppend
	in := map[domain.StreamID]bool{}
	n := 0
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, n = nil, 0
		clear(in)
	}
	for _, r := range log {
		last := len(cur) - 1
		switch {
		case last >= 0 && cur[last].Stream == r.Stream && n < size:
			cur[last].Records = append(cur[last].Records, r)
			n++
			continue
		case n >= size || in[r.Stream]:
			flush()
		}
		cur = append(cur, domain.StreamAppend{Stream: r.Stream, Expected: r.Version - 1, Records: []domain.Record{r}})
		in[r.Stream] = true
		n++
	}
	flush()
	return out
}
