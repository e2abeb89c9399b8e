package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// auditRecord returns the i-th test event; every third carries personal data.
func auditRecord(i int) domain.Record {
	r := domain.Record{
		ID:            domain.NewEventID(),
		Type:          "test.happened",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
		Principal:     domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo", KeyID: "k_1"},
		CorrelationID: domain.NewEventID(),
		Data:          fmt.Appendf(nil, `{"n": %d, "note": "ä"}`, i),
	}
	if i%3 == 0 {
		r.Personal = fmt.Appendf(nil, `{"name":"Contact %d","email":"c%d@example.org"}`, i, i)
		r.Subject = fmt.Sprintf("subject-%d", i)
	}
	return r
}

// auditAppend appends n events (numbered from the count already in the
// log), each in its own transaction, spread over three streams, and returns
// their positions.
func auditAppend(tb testing.TB, pool *pgxpool.Pool, n int) []domain.Position {
	tb.Helper()
	ctx := tb.Context()
	store := postgres.NewStore(pool)
	var first int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&first); err != nil {
		tb.Fatal(err)
	}
	var out []domain.Position
	for i := first; i < first+n; i++ {
		got, err := store.Append(ctx, domain.StreamID(fmt.Sprintf("test-%d", i%3)), domain.AnyVersion, auditRecord(i))
		if err != nil {
			tb.Fatalf("append: %v", err)
		}
		out = append(out, got[0].Position)
	}
	return out
}

// auditBulk appends n events in batches of 1000 (one transaction each).
func auditBulk(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	store := postgres.NewStore(pool)
	for done := 0; done < n; {
		var batch []domain.StreamAppend
		for i := 0; i < 1000 && done < n; i++ {
			batch = append(batch, domain.StreamAppend{Stream: domain.StreamID(fmt.Sprintf("bulk-%d", done)),
				Expected: domain.NoStream, Records: []domain.Record{auditRecord(done)}})
			done++
		}
		if _, err := store.AppendBatch(tb.Context(), batch); err != nil {
			tb.Fatalf("append batch: %v", err)
		}
	}
}

func mustChain(tb testing.TB, c *postgres.Chainer) int {
	tb.Helper()
	n, err := c.Chain(tb.Context())
	if err != nil {
		tb.Fatalf("chain: %v", err)
	}
	return n
}

// chainAll chains until want events in total are chained. The fence is
// cluster wide (transaction ids are), so an open transaction anywhere on
// the server, such as another test's, can hold chaining back for a moment.
func chainAll(tb testing.TB, c *postgres.Chainer, pool *pgxpool.Pool, want int) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Chain(tb.Context()); err != nil && !errors.Is(err, postgres.ErrChainerBusy) {
			tb.Fatalf("chain: %v", err)
		}
		var n int
		if err := pool.QueryRow(tb.Context(), `SELECT count(*) FROM event_chain`).Scan(&n); err != nil {
			tb.Fatalf("count chain rows: %v", err)
		}
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			tb.Fatalf("%d events chained, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustSeal(tb testing.TB, c *postgres.Chainer) *audit.Seal {
	tb.Helper()
	s, err := c.Seal(tb.Context())
	if err != nil {
		tb.Fatalf("seal: %v", err)
	}
	return s
}

func mustVerify(tb testing.TB, pool *pgxpool.Pool, key []byte) audit.Report {
	tb.Helper()
	r, err := postgres.Verify(tb.Context(), pool, key)
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	return r
}

func TestChainerChainsInPagesAndSeals(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{PageSize: 3})
	if s := mustSeal(t, c); s != nil {
		t.Fatalf("sealed an empty chain: %+v", s)
	}
	pos := auditAppend(t, pool, 10)
	chainAll(t, c, pool, 10)
	if n := mustChain(t, c); n != 0 {
		t.Fatalf("chained %d events again", n)
	}
	s1 := mustSeal(t, c)
	if s1 == nil || s1.Seq != 1 || s1.From != pos[0] || s1.To != pos[9] || s1.Count != 10 || s1.PrevHash != nil || s1.Keyed {
		t.Fatalf("first seal = %+v", s1)
	}
	if s := mustSeal(t, c); s != nil {
		t.Fatalf("sealed again with nothing new: %+v", s)
	}
	pos = append(pos, auditAppend(t, pool, 4)...)
	chainAll(t, c, pool, 14)
	s2 := mustSeal(t, c)
	if s2 == nil || s2.Seq != 2 || s2.From != pos[10] || s2.To != pos[13] || s2.Count != 4 || string(s2.PrevHash) != string(s1.Hash) {
		t.Fatalf("second seal = %+v", s2)
	}
	r := mustVerify(t, pool, nil)
	if r.FirstBad != nil || r.Events != 14 || r.Chained != 14 || r.Sealed != 14 || r.Seals != 2 || r.LastSeal.Seq != 2 {
		t.Fatalf("report = %+v, problem %v", r, r.FirstBad)
	}
}

func TestChainerWaitsBehindTheFenceForOpenTransactions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})
	store := postgres.NewStore(pool)
	before := auditAppend(t, pool, 2)
	chainAll(t, c, pool, len(before))

	// A transaction that appended but has not committed yet: its position
	// is below everything appended after it.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	late, err := store.AppendTx(ctx, tx, "test-late", domain.NoStream, auditRecord(100))
	if err != nil {
		t.Fatalf("append in tx: %v", err)
	}
	after := auditAppend(t, pool, 3)
	if late[0].Position > after[0] {
		t.Fatalf("the open transaction's event at %d is not below later appends at %d", late[0].Position, after[0])
	}
	if n := mustChain(t, c); n != 0 {
		t.Fatalf("chained %d events above a transaction that is still open", n)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	chainAll(t, c, pool, len(before)+1+len(after))
	mustSeal(t, c)
	if r := mustVerify(t, pool, nil); r.FirstBad != nil || r.Chained != 6 || r.Sealed != 6 {
		t.Fatalf("report = %+v, problem %v", r, r.FirstBad)
	}
}

func TestOnlyOneChainerWorksAtATime(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	auditAppend(t, pool, 3)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})

	// Another chainer: a transaction holding the chain lock.
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx) //nolint:errcheck
	var locked bool
	if err := other.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(x'6b61696b7563686e'::bigint)`).Scan(&locked); err != nil || !locked {
		t.Fatalf("take the chain lock: %v %v", locked, err)
	}
	if n, err := c.Chain(ctx); !errors.Is(err, postgres.ErrChainerBusy) || n != 0 {
		t.Fatalf("chain while locked = %d, %v; want 0, ErrChainerBusy", n, err)
	}
	if s, err := c.Seal(ctx); !errors.Is(err, postgres.ErrChainerBusy) || s != nil {
		t.Fatalf("seal while locked = %v, %v; want ErrChainerBusy", s, err)
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	chainAll(t, c, pool, 3)
}

func TestChainersRacingConcurrentAppendersKeepOneValidChain(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	stop := make(chan struct{})
	chainers := []*postgres.Chainer{
		postgres.NewChainer(pool, postgres.ChainerConfig{PageSize: 7}),
		postgres.NewChainer(pool, postgres.ChainerConfig{PageSize: 5}),
	}
	var chainWG sync.WaitGroup
	for _, c := range chainers {
		chainWG.Add(1)
		go func() {
			defer chainWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Chain(ctx); err != nil && !errors.Is(err, postgres.ErrChainerBusy) {
					t.Errorf("chain: %v", err)
					return
				}
				if _, err := c.Seal(ctx); err != nil && !errors.Is(err, postgres.ErrChainerBusy) {
					t.Errorf("seal: %v", err)
					return
				}
			}
		}()
	}
	store := postgres.NewStore(pool)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := store.Append(ctx, domain.StreamID(fmt.Sprintf("test-w%d", w)), domain.AnyVersion, auditRecord(i)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	chainWG.Wait()
	chainAll(t, chainers[0], pool, writers*each)
	mustSeal(t, chainers[0])
	r := mustVerify(t, pool, nil)
	if r.FirstBad != nil || r.Events != writers*each || r.Chained != writers*each || r.Sealed != writers*each {
		t.Fatalf("report = %+v, problem %v", r, r.FirstBad)
	}
}

func TestChainerRunChainsAndSealsUntilCancelled(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	key := []byte("run key")
	c := postgres.NewChainer(pool, postgres.ChainerConfig{Key: key, SealEvery: 5, SealInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 10*time.Millisecond) }()
	auditAppend(t, pool, 12)
	deadline := time.Now().Add(30 * time.Second)
	var r audit.Report
	for {
		r = mustVerify(t, pool, key)
		if r.Chained == 12 && r.Sealed > 0 && r.Chained-r.Sealed < 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v, want nil", err)
	}
	if r.FirstBad != nil || r.Chained != 12 || r.Sealed == 0 || r.Chained-r.Sealed >= 5 || r.KeyedSeals != r.Seals {
		t.Fatalf("report = %+v, problem %v", r, r.FirstBad)
	}
}
