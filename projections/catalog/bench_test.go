package catalog_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/catalog"
)

// BenchmarkRebuildStatistics measures, in one run over one generated log
// of about a million events (KAIKU_BENCH_CARDS cards, default 200,000,
// with 4 uses each, some cancelled), a raw ordered read of the log
// (ReadAll pages of 20,000, records discarded) against a full
// catalog.Rebuild of the statistics (create, catch up, switch):
//
//	go test -run '^$' -bench BenchmarkRebuildStatistics -benchtime 1x ./projections/catalog/
//
// Each reports events/s; the rebuild also reports its ratio to the raw
// read.
func BenchmarkRebuildStatistics(b *testing.B) {
	cards := 200_000
	if s := os.Getenv("KAIKU_BENCH_CARDS"); s != "" {
		cards, _ = strconv.Atoi(s)
	}
	l := newSynthLog(b)
	start := time.Now()
	total := 1 + l.addCards(cards, 4)
	l.settle()
	b.Logf("generated %d events in %s", total, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	if err := catalog.EnsureLive(ctx, l.pool); err != nil {
		b.Fatal(err)
	}
	var raw float64
	b.Run("raw-read", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			var after domain.Position
			for {
				recs, err := l.store.ReadAll(ctx, after, 20000)
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				after = recs[len(recs)-1].Position
			}
		}
		raw = float64(total) * float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(raw, "events/s")
	})
	b.Run("rebuild", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			if _, err := catalog.Rebuild(ctx, l.pool, l.store, catalog.Stats, catalog.RebuildOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		rate := float64(total) * float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "events/s")
		if raw > 0 {
			b.ReportMetric(rate/raw, "x-raw")
		}
	})
}
