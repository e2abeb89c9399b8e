package natsbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kaiku/kaiku/adapters/natsbus"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

// natsConn connects to KAIKU_NATS_URL (default nats://127.0.0.1:4222) or
// skips, and returns a bus config with a stream of the test's own that is
// deleted at cleanup.
func natsConn(t *testing.T) (*nats.Conn, natsbus.Config) {
	t.Helper()
	u := os.Getenv("KAIKU_NATS_URL")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("KAIKU_NATS_URL: %v", err)
	}
	if c, err := net.DialTimeout("tcp", pu.Host, time.Second); err != nil {
		t.Skipf("no NATS JetStream at %s (set KAIKU_NATS_URL): %v", u, err)
	} else {
		c.Close()
	}
	nc, err := natsbus.Connect(u, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()[:8]
	cfg := natsbus.Config{Stream: "KAIKU_TEST_" + id, Prefix: "kaikutest." + id}
	t.Cleanup(func() {
		if err := natsbus.DeleteStream(context.Background(), nc, cfg); err != nil {
			t.Error(err)
		}
		nc.Close()
	})
	return nc, cfg
}

// appendEvents appends n events round-robin over streams and returns them
// in log order once they are readable.
func appendEvents(t *testing.T, store *postgres.Store, n, streams int) []domain.Record {
	t.Helper()
	ctx := context.Background()
	var out []domain.Record
	for done := 0; done < n; {
		batch := make([]domain.StreamAppend, streams)
		for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
			s := &batch[done%streams]
			s.Stream, s.Expected = domain.NewStreamID("t", fmt.Sprint(done%streams)), domain.AnyVersion
			s.Records = append(s.Records, domain.Record{ID: domain.NewEventID(), Type: "test.ticked", SchemaVersion: 1,
				OccurredAt: time.Now().UTC(), Principal: domain.System, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, done))})
		}
		recs, err := store.AppendBatch(ctx, slices.DeleteFunc(batch, func(s domain.StreamAppend) bool { return len(s.Records) == 0 }))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	slices.SortFunc(out, func(a, b domain.Record) int { return int(a.Position - b.Position) })
	return out
}

func readAll(t *testing.T, l *natsbus.Log, page int) []domain.Record {
	t.Helper()
	var out []domain.Record
	var after domain.Position
	for {
		recs, err := l.ReadAll(context.Background(), after, page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
		if len(recs) < page {
			return out
		}
		after = recs[len(recs)-1].Position
	}
}

func waitForwarded(t *testing.T, f *natsbus.Forwarder, last domain.Position) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); f.Position() < last; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("forwarder at %d, want %d", f.Position(), last)
		}
	}
}

func sameLog(t *testing.T, got, want []domain.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("the bus holds %d records, the log %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Position != w.Position || g.Stream != w.Stream || g.Version != w.Version || string(g.Data) != string(w.Data) ||
			g.Type != w.Type || !g.RecordedAt.Equal(w.RecordedAt) {
			t.Fatalf("record %d: bus has %+v, log has %+v", i, g, w)
		}
	}
}

func TestTheForwarderCopiesTheLogInOrderAcrossRestartsWithoutLossOrDuplicates(t *testing.T) {
	t.Parallel()
	nc, bus := natsConn(t)
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	ctx := context.Background()

	newForwarder := func() *natsbus.Forwarder {
		f, err := natsbus.NewForwarder(natsbus.ForwarderConfig{Bus: bus, Store: store, Pool: pool, Conn: nc, PageSize: 700, Standby: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	run := func(f *natsbus.Forwarder) (stop func()) {
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.Run(fctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}

	want := appendEvents(t, store, 4000, 7)
	// Two forwarders race for the lock from the start: one forwards.
	a, b := newForwarder(), newForwarder()
	stopA, stopB := run(a), run(b)
	for deadline := time.Now().Add(30 * time.Second); !a.Active() && !b.Active(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no forwarder took the lock")
		}
	}
	waitForwarded(t, map[bool]*natsbus.Forwarder{true: a, false: b}[a.Active()], want[len(want)-1].Position)
	if a.Active() == b.Active() {
		t.Fatalf("active: a %v, b %v; want exactly one", a.Active(), b.Active())
	}
	// The active one dies; the standby takes over and forwards what follows.
	active, standby, stopActive, stopStandby := a, b, stopA, stopB
	if b.Active() {
		active, standby, stopActive, stopStandby = b, a, stopB, stopA
	}
	stopActive()
	want = append(want, appendEvents(t, store, 3000, 5)...)
	waitForwarded(t, standby, want[len(want)-1].Position)
	stopStandby()
	_ = active

	// A crash after publishing but before saving the checkpoint: the
	// checkpoint row is behind (here: gone), the stream is not.
	if _, err := pool.Exec(ctx, `DELETE FROM natsbus_forwarder`); err != nil {
		t.Fatal(err)
	}
	want = append(want, appendEvents(t, store, 1500, 3)...)
	c := newForwarder()
	stopC := run(c)
	waitForwarded(t, c, want[len(want)-1].Position)
	stopC()
	if got := c.Forwarded(); got != 1500 {
		t.Errorf("the restarted forwarder published %d records, want the 1500 new ones", got)
	}
	var saved int64
	if err := pool.QueryRow(ctx, `SELECT position FROM natsbus_forwarder WHERE stream = $1`, bus.Stream).Scan(&saved); err != nil {
		t.Fatal(err)
	}
	if domain.Position(saved) != want[len(want)-1].Position {
		t.Errorf("checkpoint %d, want %d", saved, want[len(want)-1].Position)
	}

	l, err := natsbus.NewLog(ctx, nc, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sameLog(t, readAll(t, l, 999), want)
}

func TestTheLogReadsTheForwardedLogLikeTheStore(t *testing.T) {
	t.Parallel()
	nc, bus := natsConn(t)
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	ctx := context.Background()
	want := appendEvents(t, store, 2500, 4)
	f, err := natsbus.NewForwarder(natsbus.ForwarderConfig{Bus: bus, Store: store, Pool: pool, Conn: nc})
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.Run(fctx) //nolint:errcheck
	waitForwarded(t, f, want[len(want)-1].Position)

	l, err := natsbus.NewLog(ctx, nc, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	last := want[len(want)-1].Position
	cases := []struct {
		name  string
		after domain.Position
		limit int
		want  []domain.Record
	}{
		{"a read from the start returns the first page", 0, 10, want[:10]},
		{"a read after a position returns what follows it", want[1233].Position, 100, want[1234:1334]},
		{"a read near the end returns a short page", want[2497].Position, 10, want[2498:]},
		{"a read after the last record is empty", last, 10, nil},
		{"a read past the end is empty", last + 1000, 10, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := l.ReadAll(ctx, c.after, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			sameLog(t, got, c.want)
		})
	}
	t.Run("paging through the whole bus gives the log", func(t *testing.T) {
		sameLog(t, readAll(t, l, 333), want)
	})
	t.Run("a stream reads back in version order", func(t *testing.T) {
		s := domain.NewStreamID("t", "2")
		wantStream, err := store.ReadStream(ctx, s, 100)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.ReadStream(ctx, s, 100)
		if err != nil {
			t.Fatal(err)
		}
		sameLog(t, got, wantStream)
	})
	t.Run("head and counts follow the store", func(t *testing.T) {
		head, err := l.Head(ctx)
		if err != nil || head != last {
			t.Fatalf("Head = %d, %v; want %d", head, err, last)
		}
		n, err := l.CountAfter(ctx, want[2000].Position)
		if err != nil || n != 499 {
			t.Fatalf("CountAfter = %d, %v; want 499", n, err)
		}
	})
	t.Run("appending is refused", func(t *testing.T) {
		if _, err := l.Append(ctx, "x", domain.AnyVersion, want[0]); !errors.Is(err, natsbus.ErrReadOnly) {
			t.Fatalf("Append error %v, want ErrReadOnly", err)
		}
	})
}
