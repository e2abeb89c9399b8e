package eventstoredb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/kaiku/kaiku/domain"
)

// session scripts one SubscribeToAll call of fakeServer.
type session struct {
	fail    error // SubscribeToAll returns this
	deliver int   // events to deliver before dropping
	rewind  int   // events before the requested position to deliver again
	live    bool  // deliver everything, then wait for ctx like a live subscription
}

// fakeServer plays KurrentDB's $all subscriptions over a fixed log: each
// call delivers the events after its From (less rewind), as its session
// says, then drops.
type fakeServer struct {
	log      []*esdb.RecordedEvent
	sessions []session

	mu    sync.Mutex
	calls []esdb.SubscribeToAllOptions
}

func (f *fakeServer) SubscribeToAll(ctx context.Context, opts esdb.SubscribeToAllOptions) (subscription, error) {
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, opts)
	f.mu.Unlock()
	sess := session{live: true}
	if n < len(f.sessions) {
		sess = f.sessions[n]
	}
	if sess.fail != nil {
		return nil, sess.fail
	}
	start := 0
	if p, ok := opts.From.(esdb.Position); ok {
		for start < len(f.log) && comparePositions(f.log[start].Position, p) <= 0 {
			start++
		}
	}
	start = max(start-sess.rewind, 0)
	end := len(f.log)
	if !sess.live {
		end = min(start+sess.deliver, end)
	}
	var queue []*esdb.SubscriptionEvent
	for _, e := range f.log[start:end] {
		queue = append(queue, &esdb.SubscriptionEvent{EventAppeared: &esdb.ResolvedEvent{Event: e}})
		// Checkpoints come between events and must change nothing.
		queue = append(queue, &esdb.SubscriptionEvent{CheckPointReached: &esdb.Position{Commit: e.Position.Commit, Prepare: 0}})
	}
	return &fakeSubscription{ctx: ctx, queue: queue, live: sess.live}, nil
}

type fakeSubscription struct {
	ctx   context.Context
	queue []*esdb.SubscriptionEvent
	live  bool
}

func (s *fakeSubscription) Recv() *esdb.SubscriptionEvent {
	if len(s.queue) > 0 {
		ev := s.queue[0]
		s.queue = s.queue[1:]
		return ev
	}
	if s.live {
		<-s.ctx.Done()
		return &esdb.SubscriptionEvent{SubscriptionDropped: &esdb.SubscriptionDropped{Error: s.ctx.Err()}}
	}
	return &esdb.SubscriptionEvent{SubscriptionDropped: &esdb.SubscriptionDropped{Error: errors.New("connection reset by peer")}}
}

func (s *fakeSubscription) Close() error { return nil }

// testLog is a $all log of n Kaiku events at positions 100, 200, …, with a
// KurrentDB system event and an event of an internal Kaiku stream mixed in.
func testLog(t *testing.T, n int) (log []*esdb.RecordedEvent, kaiku []domain.EventID) {
	t.Helper()
	pos := uint64(0)
	add := func(stream, typ string, d esdb.EventData) {
		pos += 100
		d.EventType = typ
		log = append(log, recorded(stream, uint64(len(log)), esdb.Position{Commit: pos, Prepare: pos}, time.Unix(0, 0).UTC(), d))
	}
	for i := range n {
		r := fullRecord()
		r.ID = domain.EventID(uuid.NewSHA1(uuid.Nil, fmt.Appendf(nil, "event %d", i)).String())
		d, err := toEventData(r)
		if err != nil {
			t.Fatal(err)
		}
		add(string(r.Stream), d.EventType, d)
		kaiku = append(kaiku, r.ID)
		switch i {
		case 2:
			add("$$partner-espoo-sos-1", "$metadata", esdb.EventData{EventID: uuid.New(), Data: []byte(`{}`)})
		case 4:
			add(InternalStreamPrefix+"checkpoints", d.EventType, d)
		}
	}
	return log, kaiku
}

// subscribeUntil runs Subscribe until it has handled want records, and
// returns what it delivered and what Subscribe returned.
func subscribeUntil(t *testing.T, s *Store, from domain.Position, want int) ([]domain.Record, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []domain.Record
	err := s.Subscribe(ctx, from, func(r domain.Record) error {
		got = append(got, r)
		if len(got) == want {
			cancel()
		}
		return nil
	})
	return got, err
}

func noWait(int) time.Duration { return 0 }

func TestSubscribeResubscribes(t *testing.T) {
	t.Parallel()
	unavailable := codeError(esdb.ErrorUnavailable)
	tests := []struct {
		name     string
		sessions []session
	}{
		{"a subscription that never drops delivers every event once", nil},
		{"drops part way resume after the last event seen", []session{{deliver: 3}, {deliver: 2}, {deliver: 4}}},
		{"a server that is away for a while is subscribed to again", []session{{deliver: 2}, {fail: unavailable}, {fail: unavailable}}},
		{"events the server delivers again are not handled twice", []session{{deliver: 4}, {deliver: 5, rewind: 3}, {deliver: 1, rewind: 1}}},
		{"a drop before any event resumes from the same place", []session{{deliver: 0}, {deliver: 3}, {deliver: 0}}},
		{"a drop right after a skipped system event loses nothing", []session{{deliver: 4}, {deliver: 3, rewind: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, want := testLog(t, 9)
			fake := &fakeServer{log: log, sessions: tt.sessions}
			s := &Store{subs: fake, backoff: noWait}
			got, err := subscribeUntil(t, s, 0, len(want))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Subscribe returned %v, want context.Canceled", err)
			}
			var ids []domain.EventID
			for i, r := range got {
				ids = append(ids, r.ID)
				if i > 0 && r.Position <= got[i-1].Position {
					t.Errorf("record %d at position %d after %d: out of order", i, r.Position, got[i-1].Position)
				}
			}
			if !reflect.DeepEqual(ids, want) {
				t.Errorf("delivered %v\nwant      %v", ids, want)
			}
			for i, c := range fake.calls {
				if !reflect.DeepEqual(c.Filter, esdb.ExcludeSystemEventsFilter()) {
					t.Errorf("call %d filter = %+v, want system events excluded", i, c.Filter)
				}
			}
		})
	}
}

func TestSubscribeResumesFromTheLastEventSeen(t *testing.T) {
	t.Parallel()
	log, want := testLog(t, 6)
	fake := &fakeServer{log: log, sessions: []session{{deliver: 2}, {fail: codeError(esdb.ErrorUnavailable)}, {deliver: 3}}}
	s := &Store{subs: fake, backoff: noWait}
	if _, err := subscribeUntil(t, s, 0, len(want)); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	at := func(i int) esdb.AllPosition { return log[i].Position }
	wantFrom := []esdb.AllPosition{esdb.Start{}, at(1), at(1), at(4)}
	var gotFrom []esdb.AllPosition
	for _, c := range fake.calls {
		gotFrom = append(gotFrom, c.From)
	}
	if !reflect.DeepEqual(gotFrom, wantFrom) {
		t.Errorf("subscribed from %v, want %v", gotFrom, wantFrom)
	}
}

func TestSubscribeFromASavedPosition(t *testing.T) {
	t.Parallel()
	log, all := testLog(t, 6)
	saved, err := toPosition(log[1].Position)
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeServer{log: log}
	s := &Store{subs: fake, backoff: noWait}
	got, err := subscribeUntil(t, s, saved, len(all)-2)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if want := (esdb.Position{Commit: uint64(saved), Prepare: uint64(saved)}); fake.calls[0].From != want {
		t.Errorf("subscribed from %#v, want %#v", fake.calls[0].From, want)
	}
	if got[0].ID != all[2] || got[0].Position <= saved {
		t.Errorf("first record %s at %d, want %s after %d", got[0].ID, got[0].Position, all[2], saved)
	}
}

func TestSubscribeStops(t *testing.T) {
	t.Parallel()
	errHandler := errors.New("projection failed")
	tests := []struct {
		name      string
		sessions  []session
		handle    func(domain.Record) error
		log       func([]*esdb.RecordedEvent)
		want      error
		wantCalls int
	}{
		{
			name:      "a handler's error ends the subscription and is returned",
			handle:    func(domain.Record) error { return errHandler },
			want:      errHandler,
			wantCalls: 1,
		},
		{
			name:      "a refused login ends the subscription",
			sessions:  []session{{fail: fmt.Errorf("subscribe: %w", codeError(esdb.ErrorCodeUnauthenticated))}},
			handle:    func(domain.Record) error { return nil },
			want:      codeError(esdb.ErrorCodeUnauthenticated),
			wantCalls: 1,
		},
		{
			name:      "an event that does not decode ends the subscription rather than being skipped",
			handle:    func(domain.Record) error { return nil },
			log:       func(l []*esdb.RecordedEvent) { l[0].UserMetadata = []byte("garbage") },
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, _ := testLog(t, 3)
			if tt.log != nil {
				tt.log(log)
			}
			fake := &fakeServer{log: log, sessions: tt.sessions}
			s := &Store{subs: fake, backoff: noWait}
			err := s.Subscribe(t.Context(), 0, tt.handle)
			if err == nil || errors.Is(err, context.Canceled) {
				t.Fatalf("Subscribe returned %v, want a failure", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Subscribe returned %v, want %v", err, tt.want)
			}
			if len(fake.calls) != tt.wantCalls {
				t.Errorf("subscribed %d times, want %d", len(fake.calls), tt.wantCalls)
			}
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{"the first retry waits briefly", 1, 100 * time.Millisecond},
		{"each failed retry doubles the wait", 3, 400 * time.Millisecond},
		{"the wait stops growing at five seconds", 12, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := defaultBackoff(tt.attempt); got != tt.want {
				t.Errorf("defaultBackoff(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestAcceptFiltersTheLog(t *testing.T) {
	t.Parallel()
	d, err := toEventData(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		prefix string
		stream string
		typ    string
		pos    uint64
		want   bool
	}{
		{"a Kaiku event after the last position is accepted", "", "partner-espoo-sos-1", d.EventType, 200, true},
		{"an event at the last position is skipped", "", "partner-espoo-sos-1", d.EventType, 100, false},
		{"an event before the last position is skipped", "", "partner-espoo-sos-1", d.EventType, 50, false},
		{"a system event type is skipped", "", "partner-espoo-sos-1", "$metadata", 200, false},
		{"an event in a system stream is skipped", "", "$stats-127.0.0.1:2113", d.EventType, 200, false},
		{"an event in an internal Kaiku stream is skipped", "", InternalStreamPrefix + "checkpoints", d.EventType, 200, false},
		{"an event outside the store's scope is skipped", "t1.", "t2.partner-espoo-sos-1", d.EventType, 200, false},
		{"an event inside the store's scope is accepted", "t1.", "t1.partner-espoo-sos-1", d.EventType, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Store{prefix: tt.prefix}
			dd := d
			dd.EventType = tt.typ
			last := esdb.Position{Commit: 100, Prepare: 100}
			e := recorded(tt.stream, 0, esdb.Position{Commit: tt.pos, Prepare: tt.pos}, time.Now(), dd)
			r, ok, err := s.accept(&esdb.ResolvedEvent{Event: e}, &last)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want {
				t.Fatalf("accepted = %v, want %v", ok, tt.want)
			}
			if ok && r.Stream != "partner-espoo-sos-1" {
				t.Errorf("stream = %q, want it without the scope prefix", r.Stream)
			}
			if wantLast := max(tt.pos, 100); last.Commit != wantLast {
				t.Errorf("last = %d, want %d: every event seen moves it on", last.Commit, wantLast)
			}
		})
	}
}

func TestCheckStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stream domain.StreamID
		ok     bool
	}{
		{"a domain stream may be appended to", "card-K-0001234", true},
		{"an empty stream name is refused", "", false},
		{"a KurrentDB system stream is refused", "$settings", false},
		{"an internal Kaiku stream is refused", InternalStreamPrefix + "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := checkStream(tt.stream); (err == nil) != tt.ok {
				t.Errorf("checkStream(%q) = %v, want ok=%v", tt.stream, err, tt.ok)
			}
		})
	}
}
