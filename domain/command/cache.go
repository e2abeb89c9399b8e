package command

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// DefaultCacheEvents is the default bound of WithCache: how many decoded
// events the cache holds over all its streams. A card with a heavy year of
// uses holds about 50; a decoded use takes a few hundred bytes, so the
// default bound is some tens of megabytes.
const DefaultCacheEvents = 200_000

// WithCache makes the Handler keep decoded streams in memory, so that a
// command reads the store only for what it cannot safely take from memory
// (see the package documentation for what is read when, and for the
// staleness window). ttl bounds how long a reference stream (a partner,
// locality or the guideline consulted by a command on another aggregate)
// is trusted without asking the store whether another process appended to
// it; 1–2 seconds suits an API. A ttl of zero still caches but checks every
// reference stream with an incremental read. The cache holds at most
// DefaultCacheEvents events unless WithCacheSize says otherwise, evicting
// the least recently used streams. Without WithCache every command reads
// every stream it needs in full.
func WithCache(ttl time.Duration) Option {
	return func(h *Handler) {
		h.cacheOn, h.cacheTTL = true, max(ttl, 0)
	}
}

// WithCacheSize bounds the cache of WithCache to events decoded events
// (at least 1), each cached stream counting as one more event, so that
// empty streams are bounded too. It has no effect without WithCache, in
// whichever order the two are given.
func WithCacheSize(events int) Option {
	return func(h *Handler) {
		h.cacheEvents = max(events, 1)
	}
}

// cache is a bounded, least-recently-used map from stream to its decoded
// events. Entries only move forward: an entry is replaced only by one of a
// higher version (or the same version, checked later), so concurrent
// readers and writers of one stream cannot roll it back. Event slices are
// never changed in place once stored; extending one copies it.
type cache struct {
	ttl time.Duration
	max int
	now func() time.Time // time.Now; tests move it

	mu      sync.Mutex
	streams map[domain.StreamID]*list.Element
	lru     list.List // of *entry, most recently used first
	size    int       // sum of weight over the entries
}

type entry struct {
	stream  domain.StreamID
	events  []domain.Event
	version domain.Version
	// checked is when the store last confirmed that version was the
	// stream's head (the start of the read or append that did).
	checked time.Time
}

func newCache(ttl time.Duration, max int) *cache {
	return &cache{ttl: ttl, max: max, now: time.Now, streams: map[domain.StreamID]*list.Element{}}
}

// get returns stream's entry (a copy of it) and marks it recently used.
func (c *cache) get(stream domain.StreamID) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.streams[stream]
	if !ok {
		return entry{}, false
	}
	c.lru.MoveToFront(el)
	return *el.Value.(*entry), true
}

// put stores e unless the cache already holds a newer version of its
// stream, then evicts least recently used streams beyond the bound.
func (c *cache) put(e entry) {
	e.events = slices.Clip(e.events) // appending to a shared slice always copies
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.weight() > c.max {
		c.dropLocked(e.stream)
		return
	}
	if el, ok := c.streams[e.stream]; ok {
		old := el.Value.(*entry)
		switch {
		case e.version < old.version:
			return
		case e.version == old.version:
			if e.checked.After(old.checked) {
				old.checked = e.checked
			}
			c.lru.MoveToFront(el)
			return
		}
		c.size += e.weight() - old.weight()
		*old = e
		c.lru.MoveToFront(el)
	} else {
		c.streams[e.stream] = c.lru.PushFront(&e)
		c.size += e.weight()
	}
	for c.size > c.max {
		last := c.lru.Back()
		c.dropLocked(last.Value.(*entry).stream)
	}
}

// drop forgets stream, for when the handler no longer knows its head (an
// append whose outcome is unknown).
func (c *cache) drop(stream domain.StreamID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(stream)
}

func (c *cache) dropLocked(stream domain.StreamID) {
	el, ok := c.streams[stream]
	if !ok {
		return
	}
	c.size -= el.Value.(*entry).weight()
	c.lru.Remove(el)
	delete(c.streams, stream)
}

// len returns how many streams and events the cache holds.
func (c *cache) len() (streams, events int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams), c.size - len(c.streams)
}

// weight is what an entry counts against the bound: its events, plus one
// for the entry itself, so that many empty streams (unknown card numbers
// scanned) are bounded too.
func (e *entry) weight() int { return len(e.events) + 1 }

// readMode says how much a read may take from the cache.
type readMode int

const (
	// fresh asks the store for anything appended after the cached
	// version (one round trip; only the new events are decoded).
	fresh readMode = iota
	// target takes the cached stream as it is: the caller appends with
	// the cached version as expected version, so the store refuses the
	// append if the stream moved on, and the caller then reads fresh.
	target
	// reference takes the cached stream if the store confirmed its head
	// less than ttl ago, and reads fresh otherwise.
	reference
)

// load returns the decoded events of stream and its version (NoStream
// when it is empty), and whether they came from the cache unconfirmed by
// the store in this call. Without a cache every mode reads the whole
// stream.
func (h *Handler) load(ctx context.Context, stream domain.StreamID, mode readMode) ([]domain.Event, domain.Version, bool, error) {
	if h.cache == nil {
		events, version, err := h.read(ctx, stream, 0)
		return events, version, false, err
	}
	e, ok := h.cache.get(stream)
	if ok {
		switch {
		case mode == target:
			return e.events, e.version, true, nil
		case mode == reference && h.cache.now().Sub(e.checked) < h.cache.ttl:
			return e.events, e.version, true, nil
		}
	}
	checked := h.cache.now()
	more, version, err := h.read(ctx, stream, e.version)
	if err != nil {
		return nil, 0, false, err
	}
	events := e.events
	if len(more) > 0 {
		events = append(e.events[:len(e.events):len(e.events)], more...)
	}
	h.cache.put(entry{stream: stream, events: events, version: version, checked: checked})
	return events, version, false, nil
}

// wrote records in the cache that appending out to stream at expected
// version succeeded, so that the next command sees the appended events
// without reading them back. base are the events at expected version the
// append was decided on; started is when the append began. When out is
// not exactly the next versions after expected (an idempotent repeat
// returns the records as first stored), the stream is dropped instead.
func (h *Handler) wrote(stream domain.StreamID, base []domain.Event, expected domain.Version, out []domain.Record, started time.Time) {
	if h.cache == nil || len(out) == 0 {
		return
	}
	events := base[:len(base):len(base)]
	for i, r := range out {
		e, err := domain.Decode(r)
		if err != nil || expected < 0 || r.Stream != stream || r.Version != expected+domain.Version(i+1) {
			h.cache.drop(stream)
			return
		}
		events = append(events, e)
	}
	h.cache.put(entry{stream: stream, events: events, version: out[len(out)-1].Version, checked: started})
}

// forget drops stream from the cache, when an append's outcome is
// unknown.
func (h *Handler) forget(stream domain.StreamID) {
	if h.cache != nil {
		h.cache.drop(stream)
	}
}
