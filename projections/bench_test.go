package projections

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

const benchEvents = 200_000

// noop is the trivial projection of the benchmarks: the runner still
// decodes the registered third of the events and moves the checkpoint.
type noop struct{}

func (noop) Name() string { return "noop" }
func (noop) Handle(context.Context, pgx.Tx, domain.Record, domain.Event) error {
	return nil
}

func benchEnv(b *testing.B) *env {
	b.Helper()
	pool := pgtest.NewPool(b)
	store := postgres.NewStore(pool)
	b.Cleanup(store.Close)
	e := &env{pool: pool, store: store, truth: map[string]int64{}}
	e.append(b, benchEvents)
	return e
}

func resetCheckpoint(b *testing.B, pool *pgxpool.Pool, name string) {
	if _, err := pool.Exec(context.Background(), `UPDATE projection_checkpoints SET position = 0 WHERE name = $1`, name); err != nil {
		b.Fatal(err)
	}
}

func report(b *testing.B) {
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadAll is the baseline: a raw keyset ReadAll loop over the log.
func BenchmarkReadAll(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		var after domain.Position
		n := 0
		for {
			recs, err := e.store.ReadAll(ctx, after, 5000)
			if err != nil {
				b.Fatal(err)
			}
			n += len(recs)
			if len(recs) < 5000 {
				break
			}
			after = recs[len(recs)-1].Position
		}
		if n != benchEvents {
			b.Fatalf("read %d events", n)
		}
	}
	report(b)
}

// BenchmarkCatchUp runs the fast path (page loop, one transaction per
// page, checkpoint included) over the whole log into a no-op projection.
func BenchmarkCatchUp(b *testing.B) {
	e := benchEnv(b)
	r, err := NewRunner(Config{DB: e.pool, Store: e.store}, noop{})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.ensureCheckpoint(context.Background(), r.byName["noop"]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		resetCheckpoint(b, e.pool, "noop")
		b.StartTimer()
		if err := r.CatchUp(context.Background(), "noop"); err != nil {
			b.Fatal(err)
		}
	}
	report(b)
}

// BenchmarkRouter runs the live path (logbus subscriber, Watermill router,
// middleware chain) over the whole log into a no-op projection, with one
// event per transaction and with the events waiting behind a message
// batched into its transaction.
func BenchmarkRouter(b *testing.B) {
	e := benchEnv(b)
	last := e.recs[len(e.recs)-1].Position
	for _, bs := range []struct {
		name  string
		batch int
	}{{"batch=1", 1}, {"batch=500", 500}} {
		b.Run(bs.name, func(b *testing.B) {
			r, err := NewRunner(Config{DB: e.pool, Store: e.store, BatchSize: bs.batch}, noop{})
			if err != nil {
				b.Fatal(err)
			}
			w := r.byName["noop"]
			if err := r.ensureCheckpoint(context.Background(), w); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				resetCheckpoint(b, e.pool, "noop")
				if err := r.loadCheckpoint(context.Background(), w); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				b.StartTimer()
				go func() { done <- r.live(ctx, w) }()
				for w.pos() < last {
					select {
					case err := <-done:
						b.Fatalf("live stopped: %v", err)
					case <-time.After(time.Millisecond):
					}
				}
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
}
