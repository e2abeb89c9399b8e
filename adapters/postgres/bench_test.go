package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

// The benchmarks compare the store with plain SQL on the same server in
// the same run: a table with the events' columns and only a primary key,
// written by single-row INSERTs or COPY and read by an ordered keyset
// SELECT. Each reports rows/s; compare the store's figure with its
// baseline's.
//
//	go test ./adapters/postgres -run XXX -bench '^Benchmark(Append|AppendBatch|ReadAll)$' -benchtime 3s
//
// The pool is set up with ConfigureStorePool; KAIKU_BENCH_CUSTOM_PLANS=1
// measures the default settings instead.

func benchPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 16
	if os.Getenv("KAIKU_BENCH_CUSTOM_PLANS") == "" {
		postgres.ConfigureStorePool(cfg)
	}
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := postgres.Migrate(b.Context(), pool, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(b.Context(), postgres.BaselineDDL); err != nil {
		b.Fatal(err)
	}
	return pool
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// payload is a typical event body, about 200 bytes.
func payload(n int) []byte {
	return fmt.Appendf(nil, `{"card":"K-%07d","issuer":"espoo-sos-1","issuedOn":"2024-03-01","kind":"personal",`+
		`"holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2,"lifeSituation":"student"}}`, n)
}

func benchRecord(n int) domain.Record {
	r := eventstoretest.NewRecord(n)
	r.Type = "card.issued"
	r.Data = payload(n)
	return r
}

// runWriters splits b.N single appends among writers goroutines; each
// writes its own stream.
func runWriters(b *testing.B, writers int, write func(ctx context.Context, w int, stream domain.StreamID, version int64, r domain.Record) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	recs := make([]domain.Record, b.N)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			stream := domain.NewStreamID("card", fmt.Sprintf("K-%d-%d", w, time.Now().UnixNano()))
			var version int64
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := write(b.Context(), w, stream, version, recs[i]); err != nil {
					b.Error(err)
					return
				}
				version++
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	reportRows(b, b.N)
}

func BenchmarkAppend(b *testing.B) {
	pool := benchPool(b)
	s := postgres.NewStore(pool)
	b.Cleanup(s.Close)
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d/store", writers), func(b *testing.B) {
			runWriters(b, writers, func(ctx context.Context, _ int, stream domain.StreamID, version int64, r domain.Record) error {
				_, err := s.Append(ctx, stream, domain.Version(version), r)
				return err
			})
		})
		b.Run(fmt.Sprintf("writers=%d/plain-insert", writers), func(b *testing.B) {
			runWriters(b, writers, func(ctx context.Context, _ int, stream domain.StreamID, version int64, r domain.Record) error {
				err := postgres.InsertBaseline(ctx, pool, r, stream, version+1)
				return err
			})
		})
	}
}

// batch returns 100 records over 10 streams, appended at NoStream.
func batch(n int) []domain.StreamAppend {
	out := make([]domain.StreamAppend, 10)
	for i := range out {
		out[i] = domain.StreamAppend{
			Stream:   domain.NewStreamID("card", fmt.Sprintf("K-%d-%d-%d", runID.Add(1), n, i)),
			Expected: domain.NoStream,
		}
		for j := range 10 {
			out[i].Records = append(out[i].Records, benchRecord(n*100+i*10+j))
		}
	}
	return out
}

func BenchmarkAppendBatch(b *testing.B) {
	pool := benchPool(b)
	for _, tc := range []struct {
		name  string
		store *postgres.Store
	}{
		{"store-copy", postgres.NewStore(pool)},
		{"store-insert", postgres.NewStoreInsertBatches(pool)},
	} {
		b.Cleanup(tc.store.Close)
		b.Run(tc.name, func(b *testing.B) {
			batches := make([][]domain.StreamAppend, b.N)
			for i := range batches {
				batches[i] = batch(i)
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := tc.store.AppendBatch(b.Context(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportRows(b, 100*b.N)
		})
	}
	b.Run("plain-copy", func(b *testing.B) {
		batches := make([][]domain.StreamAppend, b.N)
		for i := range batches {
			batches[i] = batch(i)
		}
		b.ResetTimer()
		for i := range b.N {
			var rows [][]any
			for _, p := range batches[i] {
				for v, r := range p.Records {
					row, err := postgres.BaselineRow(r, p.Stream, int64(v+1))
					if err != nil {
						b.Fatal(err)
					}
					rows = append(rows, row)
				}
			}
			if err := postgres.CopyBaseline(b.Context(), pool, rows); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportRows(b, 100*b.N)
	})
}

const readRows = 50_000

// runID keeps stream names unique across the benchmark's repeated runs.
var runID atomic.Int64

func BenchmarkReadAll(b *testing.B) {
	pool := benchPool(b)
	s := postgres.NewStore(pool)
	b.Cleanup(s.Close)
	ctx := b.Context()
	for i := range readRows / 100 {
		if _, err := s.AppendBatch(ctx, batch(i)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO plain_events (event_id, stream, version, type, schema_version, occurred_at,
		recorded_at, principal, correlation_id, causation_id, data, personal, personal_subject)
		OVERRIDING SYSTEM VALUE
		SELECT event_id, stream, version, type, schema_version, occurred_at, recorded_at, principal,
			correlation_id, causation_id, data, personal, personal_subject FROM events ORDER BY position`); err != nil {
		b.Fatal(err)
	}
	for _, table := range []string{"events", "plain_events"} {
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
			b.Fatal(err)
		}
	}
	readRows := readRows
	for {
		// Wait until the fence has passed the fill.
		rs, err := s.ReadAll(ctx, 0, readRows)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) == readRows {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	const page = 1000

	b.Run("store", func(b *testing.B) {
		n := 0
		for n < b.N {
			var after domain.Position
			for n < b.N {
				rs, err := s.ReadAll(ctx, after, page)
				if err != nil {
					b.Fatal(err)
				}
				if len(rs) == 0 {
					break
				}
				n += len(rs)
				after = rs[len(rs)-1].Position
			}
		}
		reportRows(b, n)
	})
	b.Run("plain-select", func(b *testing.B) {
		n := 0
		for n < b.N {
			var after int64
			for n < b.N {
				rows, err := pool.Query(ctx, `SELECT position, event_id, stream, version, type, schema_version, occurred_at,
					recorded_at, principal, correlation_id, causation_id, data, personal, personal_subject
					FROM plain_events WHERE position > $1 ORDER BY position LIMIT $2`, after, page)
				if err != nil {
					b.Fatal(err)
				}
				var (
					pos, version       int64
					id, corr, caus     pgtype.UUID
					stream, typ, princ string
					schema             int32
					occurred, recorded time.Time
					data, personal     []byte
					subject            pgtype.Text
				)
				got := 0
				_, err = pgx.ForEachRow(rows, []any{&pos, &id, &stream, &version, &typ, &schema, &occurred, &recorded,
					&princ, &corr, &caus, &data, &personal, &subject}, func() error {
					got++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if got == 0 {
					break
				}
				n += got
				after = pos
			}
		}
		reportRows(b, n)
	})
}
