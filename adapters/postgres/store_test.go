package postgres_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

func newStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	s := postgres.NewStore(pool)
	t.Cleanup(s.Close)
	return s, pool
}

func TestStoreContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		new  func(*pgxpool.Pool) *postgres.Store
	}{
		{"batches appended by copy", postgres.NewStore},
		{"batches appended by one insert", postgres.NewStoreInsertBatches},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eventstoretest.Run(t, func(t *testing.T) domain.EventStore {
				s := tc.new(pgtest.NewPool(t))
				t.Cleanup(s.Close)
				return s
			})
		})
	}
}

// naiveReadAll is how a reader goes wrong: keyset on position with no
// fence. It is here only to show that the tests below catch it.
func naiveReadAll(ctx context.Context, pool *pgxpool.Pool, after domain.Position, limit int) ([]domain.Position, []domain.EventID, error) {
	rows, err := pool.Query(ctx, `SELECT position, event_id::text FROM events WHERE position > $1 ORDER BY position LIMIT $2`, after, limit)
	if err != nil {
		return nil, nil, err
	}
	var ps []domain.Position
	var ids []domain.EventID
	var p domain.Position
	var id domain.EventID
	_, err = pgx.ForEachRow(rows, []any{&p, &id}, func() error {
		ps, ids = append(ps, p), append(ids, id)
		return nil
	})
	return ps, ids, err
}

func appendTx(t *testing.T, s *postgres.Store, tx pgx.Tx, stream domain.StreamID, expected domain.Version, rs ...domain.Record) []domain.Record {
	t.Helper()
	out, err := s.AppendTx(t.Context(), tx, stream, expected, rs...)
	if err != nil {
		t.Fatalf("append in transaction to %s: %v", stream, err)
	}
	return out
}

func readUntil(t *testing.T, s *postgres.Store, after domain.Position, n int) []domain.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out []domain.Record
	for len(out) < n {
		page, err := s.ReadAll(ctx, after, 100)
		if err != nil {
			t.Fatalf("read all after %d: have %d of %d records: %v", after, len(out), n, err)
		}
		if len(page) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
	return out
}

// TestFenceHoldsBackYoungerCommits builds the sequence-gap case by hand: a
// transaction that started writing later commits first. A naive reader
// passes the late one by; ReadAll waits for it.
func TestFenceHoldsBackYoungerCommits(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	older, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx) //nolint:errcheck
	late := appendTx(t, s, older, "card-K-1", domain.NoStream, eventstoretest.NewRecord(1))[0]

	younger, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	early := appendTx(t, s, younger, "card-K-2", domain.NoStream, eventstoretest.NewRecord(2))[0]
	if err := younger.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if early.Position <= late.Position {
		t.Fatalf("younger transaction's event at %d, not after the older's at %d", early.Position, late.Position)
	}

	naivePos, _, err := naiveReadAll(ctx, pool, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(naivePos) != 1 || naivePos[0] != early.Position {
		t.Fatalf("naive reader saw %v, want just the younger event at %d", naivePos, early.Position)
	}
	got, err := s.ReadAll(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("ReadAll returned %d records while an older transaction was open, want none", len(got))
	}
	if head, err := s.Head(ctx); err != nil || head != 0 {
		t.Fatalf("Head = %d, %v while the older transaction is open; want 0", head, err)
	}

	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	naivePos, _, err = naiveReadAll(ctx, pool, naivePos[0], 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(naivePos) != 0 {
		t.Fatalf("naive reader saw %v after the late commit; the test assumes it misses it", naivePos)
	}
	all := readUntil(t, s, 0, 2)
	if len(all) != 2 || all[0].ID != late.ID || all[1].ID != early.ID {
		t.Fatalf("ReadAll returned %v, want the late event then the early one", all)
	}
	deadline, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		head, err := s.Head(deadline)
		if err != nil {
			t.Fatalf("head: %v", err)
		}
		if head == early.Position {
			break
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReaderNeverSkipsLateCommits races a polling reader against writers
// that hold their transactions open for a random while before committing
// or rolling back. The reader must see every committed event exactly once,
// in order, and no rolled-back one. A naive reader polls alongside and its
// misses are logged: they show the race is real.
func TestReaderNeverSkipsLateCommits(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const writers, txs = 8, 15

	var mu sync.Mutex
	committed := map[domain.EventID]domain.Record{}
	rolledBack := map[domain.EventID]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range txs {
				err := func() error {
					tx, err := pool.Begin(ctx)
					if err != nil {
						return err
					}
					defer tx.Rollback(ctx) //nolint:errcheck
					stream := domain.NewStreamID("card", string(rune('A'+w)))
					rs, err := s.AppendTx(ctx, tx, stream, domain.AnyVersion, eventstoretest.NewRecords(i, 1+rng.IntN(3))...)
					if err != nil {
						return err
					}
					time.Sleep(time.Duration(rng.IntN(50_001)) * time.Microsecond)
					if rng.IntN(5) == 0 {
						mu.Lock()
						for _, r := range rs {
							rolledBack[r.ID] = true
						}
						mu.Unlock()
						return tx.Rollback(ctx)
					}
					if err := tx.Commit(ctx); err != nil {
						return err
					}
					mu.Lock()
					for _, r := range rs {
						committed[r.ID] = r
					}
					mu.Unlock()
					return nil
				}()
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					cancel()
					return
				}
			}
		})
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	var naiveMu sync.Mutex
	naiveSeen := map[domain.EventID]bool{}
	naiveDone := make(chan struct{})
	go func() {
		defer close(naiveDone)
		var after domain.Position
		for ctx.Err() == nil {
			ps, ids, err := naiveReadAll(ctx, pool, after, 5)
			if err != nil {
				return
			}
			naiveMu.Lock()
			for _, id := range ids {
				naiveSeen[id] = true
			}
			naiveMu.Unlock()
			if len(ps) > 0 {
				after = ps[len(ps)-1]
			}
			select {
			case <-writersDone:
				if len(ps) == 0 {
					return
				}
			case <-time.After(time.Millisecond):
			}
		}
	}()

	var seen []domain.Record
	ids := map[domain.EventID]bool{}
	var after domain.Position
	done := false
	for !done {
		page, err := s.ReadAll(ctx, after, 5)
		if err != nil {
			t.Fatalf("reader after %d records: %v", len(seen), err)
		}
		for _, r := range page {
			if ids[r.ID] {
				t.Fatalf("reader saw event %s twice", r.ID)
			}
			if r.Position <= after {
				t.Fatalf("reader saw position %d after %d", r.Position, after)
			}
			ids[r.ID] = true
			after = r.Position
		}
		seen = append(seen, page...)
		if len(page) == 0 {
			select {
			case <-writersDone:
				// Every writer has ended: done when the reader has them
				// all, or (so that a reader that skipped some fails at
				// once) when the log's head has passed the last committed
				// event and the reader stands at the head.
				head, err := s.Head(ctx)
				if err != nil {
					t.Fatalf("head: %v", err)
				}
				mu.Lock()
				var last domain.Position
				for _, r := range committed {
					last = max(last, r.Position)
				}
				done = len(seen) >= len(committed) || (head >= last && after >= head)
				mu.Unlock()
			default:
			}
			time.Sleep(time.Millisecond)
		}
	}
	<-naiveDone
	if t.Failed() {
		return
	}
	for _, r := range seen {
		if rolledBack[r.ID] {
			t.Errorf("reader saw rolled-back event %s", r.ID)
		}
	}
	for id, r := range committed {
		if !ids[id] {
			t.Errorf("reader missed committed event %s (%s/%d at %d)", id, r.Stream, r.Version, r.Position)
		}
	}
	if len(seen) != len(committed) {
		t.Errorf("reader saw %d events, %d were committed", len(seen), len(committed))
	}
	missed := 0
	for id := range committed {
		if !naiveSeen[id] {
			missed++
		}
	}
	t.Logf("%d events committed, %d rolled back; a naive unfenced reader missed %d", len(committed), len(rolledBack), missed)
}

func TestAppendTx(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()

	t.Run("appends in one transaction continue each other's positions", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		a := appendTx(t, s, tx, "card-K-1", domain.NoStream, eventstoretest.NewRecords(1, 2)...)
		b := appendTx(t, s, tx, "card-K-1", 2, eventstoretest.NewRecord(3))
		c := appendTx(t, s, tx, "card-K-2", domain.NoStream, eventstoretest.NewRecord(4))
		ps := []domain.Position{a[0].Position, a[1].Position, b[0].Position, c[0].Position}
		for i := 1; i < len(ps); i++ {
			if ps[i] != ps[i-1]+1 {
				t.Fatalf("positions %v: want consecutive", ps)
			}
		}
		if b[0].Version != 3 {
			t.Errorf("third append got version %d, want 3", b[0].Version)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a head appended by a younger transaction is a conflict", func(t *testing.T) {
		older, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer older.Rollback(ctx) //nolint:errcheck
		appendTx(t, s, older, "card-K-9", domain.NoStream, eventstoretest.NewRecord(1))
		if _, err := s.Append(ctx, "card-K-3", domain.NoStream, eventstoretest.NewRecord(2)); err != nil {
			t.Fatal(err)
		}
		_, err = s.AppendTx(ctx, older, "card-K-3", 1, eventstoretest.NewRecord(3))
		if !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("got %v, want a conflict: version 2 would sit before version 1 in global order", err)
		}
	})

	t.Run("passing 2^20-1 events in one transaction fails clearly", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		// Pretend the transaction already appended all but one event.
		if _, err := tx.Exec(ctx, `INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at, principal, data)
			VALUES (kaiku_xid_position(pg_current_xact_id()) + 1048574, gen_random_uuid(), 'filler-1', 1, 't', 1, now(), 'system', '{}')`); err != nil {
			t.Fatal(err)
		}
		_, err = s.AppendTx(ctx, tx, "card-K-4", domain.NoStream, eventstoretest.NewRecords(1, 2)...)
		if !errors.Is(err, postgres.ErrTooManyEvents) {
			t.Fatalf("got %v, want ErrTooManyEvents", err)
		}
	})

	t.Run("more than 2^20-1 events in one append fail before reaching the database", func(t *testing.T) {
		rs := make([]domain.Record, postgres.MaxEventsPerTransaction+1)
		_, err := s.Append(ctx, "card-K-5", domain.NoStream, rs...)
		if !errors.Is(err, postgres.ErrTooManyEvents) {
			t.Fatalf("got %v, want ErrTooManyEvents", err)
		}
	})
}
