package stats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/stats"
)

// generate appends a synthetic network to l: the 2022 guideline, four
// localities, and cards issued in 2023–2024, each with usesPerCard uses
// (about one in fifty cancelled, some with children's tickets). It returns
// the number of events appended.
func generate(tb testing.TB, l *testLog, cards, usesPerCard int) int {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	l.add(guideline.Stream, guideline.National2022())
	locs := []locality.ID{"espoo", "kainuu", "vantaa", "turku"}
	for i, id := range locs {
		l.add(locality.Stream(id), locality.Registered{ID: id, Name: string(id), Municipalities: []string{fmt.Sprintf("%03d", 100+i)},
			Scope: locality.ScopeNational, JoinedOn: d("2020-01-01")})
	}
	cats := []string{"culture", "education", "science", "sport"}
	n := 4 + 1
	enc := func(ev domain.Event) domain.Record {
		rec, err := domain.Encode(ev, domain.Metadata{Principal: domain.System})
		if err != nil {
			tb.Fatal(err)
		}
		return rec
	}
	var batch []domain.StreamAppend
	events := 0
	flush := func() {
		out, err := l.store.AppendBatch(ctx, batch)
		if err != nil {
			tb.Fatalf("append: %v", err)
		}
		l.last = max(l.last, out[len(out)-1].Position)
		batch, events = batch[:0], 0
	}
	for c := range cards {
		id := card.ID(fmt.Sprintf("K-%07d", c))
		loc := locs[rng.IntN(len(locs))]
		issuedOn := d("2023-01-01").AddDays(rng.IntN(700))
		recs := []domain.Record{enc(card.Issued{Card: id, Issuer: partner.ID(string(loc) + "-sos-" + fmt.Sprint(rng.IntN(5))), Locality: loc,
			IssuedOn: issuedOn, Kind: card.KindPersonal,
			Holder: card.Holder{BirthYear: 1940 + rng.IntN(66), PostalCode: fmt.Sprintf("%05d", rng.IntN(99999)), MinorChildren: rng.IntN(4)}})}
		for u := range usesPerCard {
			vloc := locs[rng.IntN(len(locs))]
			kind, child := card.UseEvent, 0
			if rng.IntN(5) == 0 {
				kind = card.UseCourse
			} else if rng.IntN(3) == 0 {
				child = 1 + rng.IntN(2)
			}
			use := card.UseID(fmt.Sprintf("u%d", u))
			recs = append(recs, enc(card.UseRecorded{Use: use, Venue: partner.ID(string(vloc) + "-venue-" + fmt.Sprint(rng.IntN(20))),
				VenueLocality: vloc, UsedOn: issuedOn.AddDays(rng.IntN(300)), Category: cats[rng.IntN(len(cats))], Kind: kind, ChildTickets: child}))
			if rng.IntN(50) == 0 {
				recs = append(recs, enc(card.UseCancelled{Use: use, On: issuedOn}))
			}
		}
		batch = append(batch, domain.StreamAppend{Stream: card.Stream(id), Expected: domain.NoStream, Records: recs})
		events += len(recs)
		n += len(recs)
		if events >= 2000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	l.settle()
	return n
}

func TestCopyAndPerEventWritesAgree(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	generate(t, l, 300, 4)
	ctx := context.Background()
	copied := build(t, l, "stats_copy", 5000) // pages well above the COPY threshold
	single := buildOneByOne(t, l, "stats_single")
	for _, y := range []int{2023, 2024, 2025} {
		a, err := copied.National(ctx, y)
		if err != nil {
			t.Fatal(err)
		}
		b, err := single.National(ctx, y)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("national %d differs:\ncopy   %+v\nsingle %+v", y, a, b)
		}
		if y == 2024 && (a.AdultUses == 0 || a.ChildTickets == 0 || a.CardsUsed == 0) {
			t.Errorf("the generated log counts nothing in 2024: %+v", a)
		}
	}
	for _, g := range stats.GroupBys {
		f := stats.Filter{From: d("2024-01-01"), To: d("2024-12-31"), GroupBy: g}
		a, err := copied.Breakdown(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := single.Breakdown(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("breakdown by %s differs", g)
		}
	}
}

// BenchmarkRebuild measures a rebuild of the statistics over a generated
// log of about 200k events (40,000 cards issued and 160,000 uses), against
// a raw ordered read of the same log in the same run:
//
//	go test -run '^$' -bench BenchmarkRebuild -benchtime 1x ./projections/stats/
//
// "raw-read" pages through ReadAll and does nothing with the records;
// "replay" is stats.Replay (read, decode, Handle, COPY per page of 5000);
// "handle" feeds pre-decoded events to Handle and Flush in transactions of
// 5000, which is the projection's own cost. Each reports events/s.
func BenchmarkRebuild(b *testing.B) {
	l := newLog(b)
	total := generate(b, l, 40_000, 4)
	ctx := context.Background()
	rates := map[string]float64{}
	report := func(b *testing.B, name string, start time.Time) {
		rate := float64(total) * float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "events/s")
		rates[name] = rate
	}

	b.Run("raw-read", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			var after domain.Position
			for {
				recs, err := l.store.ReadAll(ctx, after, 5000)
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				after = recs[len(recs)-1].Position
			}
		}
		report(b, "raw-read", start)
	})

	i := 0
	b.Run("replay", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			i++
			schema := fmt.Sprintf("stats_bench_%d", i)
			p := stats.New(schema)
			if err := stats.CreateSchema(ctx, l.pool, schema); err != nil {
				b.Fatal(err)
			}
			if _, err := stats.Replay(ctx, l.pool, l.store, p, stats.ReplayOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, "replay", start)
	})

	// Decode once, outside the timer.
	var evs []struct {
		rec domain.Record
		ev  domain.Event
	}
	var after domain.Position
	for {
		recs, err := l.store.ReadAll(ctx, after, 5000)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			ev, err := domain.Decode(r)
			if err != nil {
				b.Fatal(err)
			}
			evs = append(evs, struct {
				rec domain.Record
				ev  domain.Event
			}{r, ev})
		}
		after = recs[len(recs)-1].Position
	}
	b.Run("handle", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			i++
			schema := fmt.Sprintf("stats_bench_%d", i)
			p := stats.New(schema, stats.WithBatchFlush())
			if err := stats.CreateSchema(ctx, l.pool, schema); err != nil {
				b.Fatal(err)
			}
			for lo := 0; lo < len(evs); lo += 5000 {
				tx, err := l.pool.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range evs[lo:min(lo+5000, len(evs))] {
					if err := p.Handle(ctx, tx, e.rec, e.ev); err != nil {
						b.Fatal(err)
					}
				}
				if err := p.Flush(ctx, tx); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, "handle", start)
	})
	if rates["raw-read"] > 0 {
		b.Logf("%d events: raw read %.0f/s, replay %.0f/s (%.2f of raw), handle %.0f/s (%.2f of raw)", total,
			rates["raw-read"], rates["replay"], rates["replay"]/rates["raw-read"], rates["handle"], rates["handle"]/rates["raw-read"])
	}
}
