package eventstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// NewRecord returns a record ready to append: a fresh event id, type
// "test.happened" v1, a business time at millisecond precision, a venue
// principal, correlation and causation ids, and data {"n":n}. Stores fill
// in Stream, Version, Position and RecordedAt.
func NewRecord(n int) domain.Record {
	return domain.Record{
		ID:            domain.NewEventID(),
		Type:          "test.happened",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond),
		Principal:     domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum", KeyID: "k_test"},
		CorrelationID: domain.NewEventID(),
		CausationID:   domain.NewEventID(),
		Data:          []byte(fmt.Sprintf(`{"n":%d}`, n)),
	}
}

// NewRecords returns n records from NewRecord(first) on.
func NewRecords(first, n int) []domain.Record {
	out := make([]domain.Record, n)
	for i := range out {
		out[i] = NewRecord(first + i)
	}
	return out
}

// Run runs the contract against stores from newStore, which must return a
// fresh, empty store for each call (sub-tests run in parallel).
func Run(t *testing.T, newStore func(t *testing.T) domain.EventStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s domain.EventStore)
	}{
		{"an appended record reads back with every envelope field", testRoundTrip},
		{"appending with NoStream to an existing stream conflicts and stores nothing", testNoStreamOnExisting},
		{"appending at a stale version conflicts and stores nothing", testStaleVersion},
		{"appending at a version above the stream's conflicts and stores nothing", testTooHighVersion},
		{"appending at AnyVersion appends at the head of new and existing streams", testAnyVersion},
		{"retrying an append with the same event ids stores nothing and returns the first records", testIdempotentRetry},
		{"an append mixing new and already appended event ids conflicts and stores nothing", testMixedDuplicates},
		{"an event id appended to another stream conflicts", testIDInOtherStream},
		{"a stream that does not exist reads empty", testMissingStream},
		{"reading a stream after a version returns only the later records", testReadStreamAfter},
		{"reading the log page by page returns every record once in global order", testReadAllPaging},
		{"a batch appends to every stream atomically", testBatch},
		{"a batch with one stale stream stores nothing", testBatchAtomic},
		{"concurrent appends at one expected version have exactly one winner", testOneWinner},
		{"concurrent appenders retrying on conflict leave a stream without gaps", testNoGaps},
		{"a reader polling the log while many writers append sees every event once and in order", testRacingReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t))
		})
	}
}

func mustAppend(t *testing.T, s domain.EventStore, stream domain.StreamID, expected domain.Version, rs ...domain.Record) []domain.Record {
	t.Helper()
	out, err := s.Append(t.Context(), stream, expected, rs...)
	if err != nil {
		t.Fatalf("append %d records to %s at %d: %v", len(rs), stream, expected, err)
	}
	if len(out) != len(rs) {
		t.Fatalf("append to %s returned %d records, want %d", stream, len(out), len(rs))
	}
	return out
}

func mustReadStream(t *testing.T, s domain.EventStore, stream domain.StreamID, after domain.Version) []domain.Record {
	t.Helper()
	out, err := s.ReadStream(t.Context(), stream, after)
	if err != nil {
		t.Fatalf("read stream %s: %v", stream, err)
	}
	return out
}

// readAllUntil reads the whole log from the start, waiting for at least n
// records: a store may hold back records behind an open transaction that
// is not the test's own.
func readAllUntil(t *testing.T, s domain.EventStore, n int) []domain.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var all []domain.Record
	var after domain.Position
	for {
		page, err := s.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatalf("read all after %d (have %d of %d): %v", after, len(all), n, err)
		}
		all = append(all, page...)
		if len(page) > 0 {
			after = page[len(page)-1].Position
		}
		if len(page) == 0 && len(all) >= n {
			return all
		}
		if len(page) == 0 {
			if err := pause(ctx); err != nil {
				t.Fatalf("read all: %d of %d records readable: %v", len(all), n, err)
			}
		}
	}
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Millisecond):
		return nil
	}
}

func wantConflict(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("%s: got error %v, want one wrapping domain.ErrConflict", what, err)
	}
}

// sameRecord compares every envelope field of got with want.
func sameRecord(t *testing.T, got, want domain.Record) {
	t.Helper()
	var diffs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Stream", got.Stream == want.Stream, got.Stream, want.Stream)
	check("Version", got.Version == want.Version, got.Version, want.Version)
	check("Position", got.Position == want.Position, got.Position, want.Position)
	check("Type", got.Type == want.Type, got.Type, want.Type)
	check("SchemaVersion", got.SchemaVersion == want.SchemaVersion, got.SchemaVersion, want.SchemaVersion)
	check("OccurredAt", got.OccurredAt.Equal(want.OccurredAt), got.OccurredAt, want.OccurredAt)
	check("RecordedAt set", !got.RecordedAt.IsZero(), got.RecordedAt, "a time")
	check("Principal", got.Principal == want.Principal, got.Principal, want.Principal)
	check("CorrelationID", got.CorrelationID == want.CorrelationID, got.CorrelationID, want.CorrelationID)
	check("CausationID", got.CausationID == want.CausationID, got.CausationID, want.CausationID)
	check("Data", bytes.Equal(got.Data, want.Data), string(got.Data), string(want.Data))
	check("Personal", bytes.Equal(got.Personal, want.Personal), string(got.Personal), string(want.Personal))
	check("Subject", got.Subject == want.Subject, got.Subject, want.Subject)
	if len(diffs) > 0 {
		t.Errorf("record %s/%d differs:\n  %v", want.Stream, want.Version, diffs)
	}
}

func testRoundTrip(t *testing.T, s domain.EventStore) {
	stream := domain.NewStreamID("partner", "espoo-museum")
	withPerson := NewRecord(1)
	withPerson.Type, withPerson.SchemaVersion = "partner.contact_changed", 2
	withPerson.Principal = domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo", KeyID: "k_3f2a"}
	withPerson.Personal = []byte(`{"name":"Test Contact","email":"contact@example.org"}`)
	withPerson.Subject = "person-7"
	bare := NewRecord(2)
	bare.Principal = domain.System
	bare.CorrelationID, bare.CausationID = "", ""
	bare.Data = []byte(`{"nested":{"list":[1,2,3]},"text":"ä €"}`)

	appended := mustAppend(t, s, stream, domain.NoStream, withPerson, bare)
	for i, want := range []domain.Record{withPerson, bare} {
		want.Stream, want.Version, want.Position = stream, domain.Version(i+1), appended[i].Position
		sameRecord(t, appended[i], want)
	}
	if appended[0].Position <= 0 || appended[1].Position <= appended[0].Position {
		t.Errorf("positions %d, %d: want positive and increasing", appended[0].Position, appended[1].Position)
	}
	for _, read := range [][]domain.Record{mustReadStream(t, s, stream, 0), readAllUntil(t, s, 2)} {
		if len(read) != 2 {
			t.Fatalf("read %d records, want 2", len(read))
		}
		for i := range read {
			sameRecord(t, read[i], appended[i])
		}
	}
}

func testNoStreamOnExisting(t *testing.T, s domain.EventStore) {
	stream := domain.StreamID("card-K-1")
	mustAppend(t, s, stream, domain.NoStream, NewRecord(1))
	_, err := s.Append(t.Context(), stream, domain.NoStream, NewRecord(2))
	wantConflict(t, err, "append with NoStream to an existing stream")
	if got := mustReadStream(t, s, stream, 0); len(got) != 1 {
		t.Errorf("stream has %d records, want 1", len(got))
	}
}

func testStaleVersion(t *testing.T, s domain.EventStore) {
	stream := domain.StreamID("card-K-1")
	mustAppend(t, s, stream, domain.NoStream, NewRecords(1, 3)...)
	_, err := s.Append(t.Context(), stream, 2, NewRecord(4), NewRecord(5))
	wantConflict(t, err, "append at version 2 to a stream at 3")
	if got := mustReadStream(t, s, stream, 0); len(got) != 3 {
		t.Errorf("stream has %d records, want 3", len(got))
	}
}

func testTooHighVersion(t *testing.T, s domain.EventStore) {
	stream := domain.StreamID("card-K-1")
	_, err := s.Append(t.Context(), stream, 1, NewRecord(1))
	wantConflict(t, err, "append at version 1 to a missing stream")
	mustAppend(t, s, stream, domain.NoStream, NewRecord(2))
	_, err = s.Append(t.Context(), stream, 5, NewRecord(3))
	wantConflict(t, err, "append at version 5 to a stream at 1")
	if got := mustReadStream(t, s, stream, 0); len(got) != 1 {
		t.Errorf("stream has %d records, want 1", len(got))
	}
}

func testAnyVersion(t *testing.T, s domain.EventStore) {
	stream := domain.StreamID("locality-espoo")
	first := mustAppend(t, s, stream, domain.AnyVersion, NewRecord(1))
	next := mustAppend(t, s, stream, domain.AnyVersion, NewRecord(2), NewRecord(3))
	if first[0].Version != 1 || next[0].Version != 2 || next[1].Version != 3 {
		t.Errorf("versions %d, %d, %d: want 1, 2, 3", first[0].Version, next[0].Version, next[1].Version)
	}
	if got := mustReadStream(t, s, stream, 0); len(got) != 3 {
		t.Errorf("stream has %d records, want 3", len(got))
	}
}

func testIdempotentRetry(t *testing.T, s domain.EventStore) {
	for _, tc := range []struct {
		name     string
		expected domain.Version
	}{
		{"a retry at the original expected version", domain.NoStream},
		{"a retry at AnyVersion", domain.AnyVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := domain.NewStreamID("card", tc.name)
			rs := NewRecords(1, 2)
			first := mustAppend(t, s, stream, domain.NoStream, rs...)
			mustAppend(t, s, stream, 2, NewRecord(3))
			again := mustAppend(t, s, stream, tc.expected, rs...)
			for i := range first {
				sameRecord(t, again[i], first[i])
			}
			if got := mustReadStream(t, s, stream, 0); len(got) != 3 {
				t.Errorf("stream has %d records after the retry, want 3", len(got))
			}
		})
	}
}

func testMixedDuplicates(t *testing.T, s domain.EventStore) {
	stream := domain.StreamID("card-K-1")
	old := mustAppend(t, s, stream, domain.NoStream, NewRecord(1))
	for _, expected := range []domain.Version{1, domain.AnyVersion} {
		_, err := s.Append(t.Context(), stream, expected, old[0], NewRecord(2))
		wantConflict(t, err, fmt.Sprintf("append of one old and one new id at %d", expected))
	}
	if got := mustReadStream(t, s, stream, 0); len(got) != 1 {
		t.Errorf("stream has %d records, want 1", len(got))
	}
}

func testIDInOtherStream(t *testing.T, s domain.EventStore) {
	r := NewRecord(1)
	mustAppend(t, s, "card-K-1", domain.NoStream, r)
	_, err := s.Append(t.Context(), "card-K-2", domain.NoStream, r)
	wantConflict(t, err, "append of an id already in another stream")
	if got := mustReadStream(t, s, "card-K-2", 0); len(got) != 0 {
		t.Errorf("second stream has %d records, want 0", len(got))
	}
}

func testMissingStream(t *testing.T, s domain.EventStore) {
	mustAppend(t, s, "card-K-1", domain.NoStream, NewRecord(1))
	got, err := s.ReadStream(t.Context(), "card-K-404", 0)
	if err != nil || len(got) != 0 {
		t.Errorf("read missing stream: %d records, error %v; want none and no error", len(got), err)
	}
}

func testReadStreamAfter(t *testing.T, s domain.EventStore) {
	stream := domain.StreamID("card-K-1")
	all := mustAppend(t, s, stream, domain.NoStream, NewRecords(1, 5)...)
	for _, tc := range []struct {
		after domain.Version
		want  []domain.Record
	}{
		{0, all}, {2, all[2:]}, {4, all[4:]}, {5, nil}, {9, nil},
	} {
		got := mustReadStream(t, s, stream, tc.after)
		if len(got) != len(tc.want) {
			t.Errorf("after %d: %d records, want %d", tc.after, len(got), len(tc.want))
			continue
		}
		for i := range got {
			sameRecord(t, got[i], tc.want[i])
		}
	}
}

func testReadAllPaging(t *testing.T, s domain.EventStore) {
	var want []domain.Record
	for i := range 4 {
		stream := domain.NewStreamID("card", fmt.Sprint("K-", i))
		want = append(want, mustAppend(t, s, stream, domain.NoStream, NewRecords(10*i, 2)...)...)
	}
	want = append(want, mustAppend(t, s, "card-K-0", 2, NewRecords(100, 3)...)...)
	readAllUntil(t, s, len(want)) // wait until the store released them all
	var got []domain.Record
	var after domain.Position
	for page := 0; ; page++ {
		rs, err := s.ReadAll(t.Context(), after, 3)
		if err != nil {
			t.Fatalf("read page %d: %v", page, err)
		}
		if len(rs) > 3 {
			t.Fatalf("page %d has %d records, limit 3", page, len(rs))
		}
		if len(rs) == 0 {
			break
		}
		got = append(got, rs...)
		after = rs[len(rs)-1].Position
	}
	if len(got) != len(want) {
		t.Fatalf("paged read returned %d records, want %d", len(got), len(want))
	}
	for i := range got {
		sameRecord(t, got[i], want[i])
	}
	checkOrder(t, got)
}

// checkOrder fails unless positions strictly increase and every stream's
// versions follow 1, 2, 3, ... in the order read.
func checkOrder(t *testing.T, rs []domain.Record) {
	t.Helper()
	last := map[domain.StreamID]domain.Version{}
	for i, r := range rs {
		if i > 0 && r.Position <= rs[i-1].Position {
			t.Fatalf("record %d at position %d after %d: global order broken", i, r.Position, rs[i-1].Position)
		}
		if r.Version != last[r.Stream]+1 {
			t.Fatalf("stream %s: version %d read after %d", r.Stream, r.Version, last[r.Stream])
		}
		last[r.Stream] = r.Version
	}
}

func testBatch(t *testing.T, s domain.EventStore) {
	mustAppend(t, s, "card-K-2", domain.NoStream, NewRecord(0))
	batch := []domain.StreamAppend{
		{Stream: "card-K-1", Expected: domain.NoStream, Records: NewRecords(1, 2)},
		{Stream: "card-K-2", Expected: 1, Records: NewRecords(3, 1)},
		{Stream: "card-K-3", Expected: domain.AnyVersion, Records: NewRecords(4, 3)},
	}
	out, err := s.AppendBatch(t.Context(), batch)
	if err != nil {
		t.Fatalf("append batch: %v", err)
	}
	if len(out) != 6 {
		t.Fatalf("batch returned %d records, want 6", len(out))
	}
	i := 0
	for _, p := range batch {
		read := mustReadStream(t, s, p.Stream, max(p.Expected, 0))
		if len(read) != len(p.Records) {
			t.Fatalf("stream %s has %d new records, want %d", p.Stream, len(read), len(p.Records))
		}
		for j, want := range p.Records {
			want.Stream = p.Stream
			want.Version = max(p.Expected, 0) + domain.Version(j+1)
			want.Position = out[i].Position
			sameRecord(t, out[i], want)
			sameRecord(t, read[j], out[i])
			i++
		}
	}
	again, err := s.AppendBatch(t.Context(), batch)
	if err != nil {
		t.Fatalf("retry the batch: %v", err)
	}
	for i := range out {
		sameRecord(t, again[i], out[i])
	}
	checkOrder(t, readAllUntil(t, s, 7))
}

func testBatchAtomic(t *testing.T, s domain.EventStore) {
	mustAppend(t, s, "card-K-2", domain.NoStream, NewRecords(0, 2)...)
	_, err := s.AppendBatch(t.Context(), []domain.StreamAppend{
		{Stream: "card-K-1", Expected: domain.NoStream, Records: NewRecords(1, 2)},
		{Stream: "card-K-2", Expected: 1, Records: NewRecords(3, 1)},
		{Stream: "card-K-3", Expected: domain.AnyVersion, Records: NewRecords(4, 1)},
	})
	wantConflict(t, err, "batch with a stale stream")
	for stream, want := range map[domain.StreamID]int{"card-K-1": 0, "card-K-2": 2, "card-K-3": 0} {
		if got := mustReadStream(t, s, stream, 0); len(got) != want {
			t.Errorf("stream %s has %d records, want %d", stream, len(got), want)
		}
	}
}

func testOneWinner(t *testing.T, s domain.EventStore) {
	const writers = 8
	stream := domain.StreamID("card-K-1")
	for _, expected := range []domain.Version{domain.NoStream, 1, 2} {
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				_, err := s.Append(t.Context(), stream, expected, NewRecord(w))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, domain.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("append at %d: %v", expected, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != writers-1 {
			t.Fatalf("at version %d: %d winners and %d conflicts, want 1 and %d", expected, wins.Load(), conflicts.Load(), writers-1)
		}
	}
	if got := mustReadStream(t, s, stream, 0); len(got) != 3 {
		t.Errorf("stream has %d records, want 3", len(got))
	}
}

func testNoGaps(t *testing.T, s domain.EventStore) {
	const writers, each = 6, 8
	stream := domain.StreamID("card-K-1")
	var wg sync.WaitGroup
	ids := make(chan domain.EventID, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := NewRecord(w*100 + i)
				for {
					head, err := s.ReadStream(t.Context(), stream, 0)
					if err != nil {
						t.Errorf("read stream: %v", err)
						return
					}
					_, err = s.Append(t.Context(), stream, domain.Version(len(head)), r)
					if err == nil {
						ids <- r.ID
						break
					}
					if !errors.Is(err, domain.ErrConflict) {
						t.Errorf("append: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(ids)
	got := mustReadStream(t, s, stream, 0)
	if len(got) != writers*each {
		t.Fatalf("stream has %d records, want %d", len(got), writers*each)
	}
	seen := map[domain.EventID]bool{}
	for i, r := range got {
		if r.Version != domain.Version(i+1) {
			t.Fatalf("record %d has version %d", i, r.Version)
		}
		if i > 0 && r.Position <= got[i-1].Position {
			t.Fatalf("version %d at position %d, before version %d at %d", r.Version, r.Position, i, got[i-1].Position)
		}
		seen[r.ID] = true
	}
	for id := range ids {
		if !seen[id] {
			t.Errorf("appended event %s is missing from the stream", id)
		}
	}
}

func testRacingReader(t *testing.T, s domain.EventStore) {
	const writers, each = 8, 30
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var appended sync.Map // EventID -> Record
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				stream := domain.NewStreamID("card", fmt.Sprintf("K-%d-%d", w, i%3))
				var rs []domain.Record
				var err error
				if i%5 == 4 {
					rs, err = s.AppendBatch(ctx, []domain.StreamAppend{
						{Stream: stream, Expected: domain.AnyVersion, Records: NewRecords(i, 2)},
					})
				} else {
					rs, err = s.Append(ctx, stream, domain.AnyVersion, NewRecord(w*1000+i))
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					cancel() // the reader would wait for events that never come
					return
				}
				for _, r := range rs {
					appended.Store(r.ID, r)
				}
			}
		})
	}
	total := writers * (each + each/5)
	var seen []domain.Record
	ids := map[domain.EventID]bool{}
	var after domain.Position
	for len(seen) < total {
		page, err := s.ReadAll(ctx, after, 7)
		if err != nil {
			t.Fatalf("reader saw %d of %d events, then: %v", len(seen), total, err)
		}
		for _, r := range page {
			if ids[r.ID] {
				t.Fatalf("reader saw event %s twice", r.ID)
			}
			ids[r.ID] = true
			if r.Position <= after {
				t.Fatalf("reader saw position %d after %d", r.Position, after)
			}
			after = r.Position
		}
		seen = append(seen, page...)
		if len(page) == 0 {
			if err := pause(ctx); err != nil {
				t.Fatalf("reader saw %d of %d events: %v", len(seen), total, err)
			}
		}
	}
	wg.Wait()
	if extra, _ := s.ReadAll(ctx, after, 10); len(extra) != 0 {
		t.Errorf("reader found %d events past the %d expected", len(extra), total)
	}
	checkOrder(t, seen)
	n := 0
	appended.Range(func(k, v any) bool {
		n++
		if !ids[k.(domain.EventID)] {
			r := v.(domain.Record)
			t.Errorf("reader missed event %s (%s/%d at %d)", r.ID, r.Stream, r.Version, r.Position)
		}
		return true
	})
	if n != total {
		t.Errorf("writers appended %d events, want %d", n, total)
	}
	full := readAllUntil(t, s, total)
	for i := range full {
		sameRecord(t, full[i], seen[i])
	}
}
