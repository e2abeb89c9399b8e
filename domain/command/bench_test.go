package command_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"

	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
)

// storePool returns a pool on a fresh migrated database, set up as
// kaiku serve sets up the event store's pool (ConfigureStorePool, at least
// 16 connections), so that benchmarks measure what a server does.
func storePool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewPool(b).Config().ConnString())
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 16
	postgres.ConfigureStorePool(cfg)
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// BenchmarkRecordUse measures one use through the whole write path on the
// real store, without the cache (four stream reads: card, venue, locality,
// guideline; decide; one append) and with it (the reads come from memory
// once warm; decide; one append). Each card takes 50 uses, about a heavy
// year. Cards are issued through another handler, so the cached handler
// reads each card once, on its first use:
//
//	go test ./domain/command -run '^$' -bench RecordUse -benchtime 2000x
func BenchmarkRecordUse(b *testing.B) {
	for _, m := range []struct {
		name string
		opts []command.Option
	}{
		{name: "cache=off"},
		{name: "cache=on", opts: []command.Option{command.WithCache(time.Second)}},
	} {
		b.Run(m.name, func(b *testing.B) {
			const usesPerCard = 50
			ctx := b.Context()
			store := postgres.NewStore(storePool(b))
			b.Cleanup(store.Close)
			issuing := seed(b, store)
			h := command.New(store, append([]command.Option{command.WithClock(func() time.Time { return today })}, m.opts...)...)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				id := card.ID(fmt.Sprintf("K-%07d", i/usesPerCard))
				if i%usesPerCard == 0 {
					b.StopTimer()
					if _, err := issuing.IssueCard(ctx, issuerMD, issueCard(id)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if _, err := h.RecordUse(ctx, venueMD, command.RecordUse{Card: id, ID: card.UseID(fmt.Sprint("u", i)),
					Venue: "espoo-museum", UsedOn: d("2024-04-02")}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecordUseConcurrent measures 8 writers recording uses of 256
// cards (a stride apart, so that they rarely race) straight on the
// handler, against 8 writers of a raw single-row INSERT on the same pool
// in the same run, alternating in rounds so that outside load weighs on
// both alike. It is the HTTP benchmark's figure without HTTP:
//
//	go test ./domain/command -run '^$' -bench RecordUseConcurrent -benchtime 2000x
func BenchmarkRecordUseConcurrent(b *testing.B) {
	for _, m := range []struct {
		name string
		opts []command.Option
	}{
		{name: "cache=off"},
		{name: "cache=on", opts: []command.Option{command.WithCache(time.Second)}},
	} {
		b.Run(m.name, func(b *testing.B) {
			const (
				writers = 8
				cards   = 256
				stride  = 97
			)
			ctx := b.Context()
			pool := storePool(b)
			store := postgres.NewStore(pool)
			b.Cleanup(store.Close)
			issuing := seed(b, store)
			for i := range cards {
				if _, err := issuing.IssueCard(ctx, issuerMD, issueCard(card.ID(fmt.Sprintf("K-%07d", i)))); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := pool.Exec(ctx, `CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, card text, used_on date)`); err != nil {
				b.Fatal(err)
			}
			h := command.New(store, append([]command.Option{command.WithRetries(16), command.WithClock(func() time.Time { return today })}, m.opts...)...)
			cardID := func(i int) card.ID { return card.ID(fmt.Sprintf("K-%07d", i*stride%cards)) }
			run := func(from, n int, op func(i int) error) time.Duration {
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				for range writers {
					wg.Go(func() {
						for {
							i := int(next.Add(1))
							if i > n {
								return
							}
							if err := op(from + i); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				return time.Since(start)
			}
			use := func(i int) error {
				_, err := h.RecordUse(ctx, venueMD, command.RecordUse{Card: cardID(i), ID: card.UseID(fmt.Sprint("u", i)),
					Venue: "espoo-museum", UsedOn: d("2024-04-02")})
				return err
			}
			insert := func(i int) error {
				_, err := pool.Exec(ctx, `INSERT INTO bench_baseline (card, used_on) VALUES ($1, '2024-04-02')`, string(cardID(i)))
				return err
			}
			const rounds = 4
			var useTime, baseTime time.Duration
			b.ResetTimer()
			for r := range rounds {
				n := b.N/rounds + min(1, max(0, b.N%rounds-r))
				from := r*(b.N/rounds) + min(r, b.N%rounds)
				b.StartTimer()
				useTime += run(from, n, use)
				b.StopTimer()
				baseTime += run(from, n, insert)
			}
			uses, rows := float64(b.N)/useTime.Seconds(), float64(b.N)/baseTime.Seconds()
			b.ReportMetric(uses, "uses/s")
			b.ReportMetric(rows, "baseline_rows/s")
			b.ReportMetric(uses/rows, "ratio")
		})
	}
}
