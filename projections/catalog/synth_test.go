package catalog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

type synthLog struct {
	tb    testing.TB
	pool  *pgxpool.Pool
	store *postgres.Store
	last  domain.Position
	rng   *rand.Rand
	cards int
}

func newSynthLog(tb testing.TB) *synthLog {
	tb.Helper()
	pool := pgtest.NewPool(tb)
	store := postgres.NewStore(pool)
	tb.Cleanup(store.Close)
	l := &synthLog{tb: tb, pool: pool, store: store, rng: rand.New(rand.NewPCG(1, 2))}
	rec := l.enc(guideline.National2022())
	out, err := store.Append(context.Background(), guideline.Stream, domain.NoStream, rec)
	if err != nil {
		tb.Fatal(err)
	}
	l.last = out[len(out)-1].Position
	return l
}

func (l *synthLog) enc(ev domain.Event) domain.Record {
	rec, err := domain.Encode(ev, domain.Metadata{Principal: domain.System})
	if err != nil {
		l.tb.Fatal(err)
	}
	return rec
}

// addCards appends n new cards with usesPerCard uses each (one in fifty
// cancelled, some with children's tickets) and returns the events appended.
func (l *synthLog) addCards(n, usesPerCard int) int {
	l.tb.Helper()
	ctx := context.Background()
	locs := []string{"espoo", "kainuu", "vantaa", "turku"}
	cats := []string{"culture", "education", "science", "sport"}
	var batch []domain.StreamAppend
	events, total := 0, 0
	flush := func() {
		out, err := l.store.AppendBatch(ctx, batch)
		if err != nil {
			l.tb.Fatalf("append: %v", err)
		}
		l.last = max(l.last, out[len(out)-1].Position)
		batch, events = batch[:0], 0
	}
	for range n {
		id := card.ID(fmt.Sprintf("K-%07d", l.cards))
		l.cards++
		loc := locs[l.rng.IntN(len(locs))]
		issuedOn := domain.MustDate("2023-01-01").AddDays(l.rng.IntN(700))
		recs := []domain.Record{l.enc(card.Issued{Card: id, Issuer: partner.ID(loc + "-sos-" + fmt.Sprint(l.rng.IntN(5))), Locality: locality.ID(loc),
			IssuedOn: issuedOn, Kind: card.KindPersonal,
			Holder: card.Holder{BirthYear: 1940 + l.rng.IntN(66), PostalCode: fmt.Sprintf("%05d", l.rng.IntN(99999)), MinorChildren: l.rng.IntN(4)}})}
		for u := range usesPerCard {
			vloc := locs[l.rng.IntN(len(locs))]
			kind, child := card.UseEvent, 0
			if l.rng.IntN(5) == 0 {
				kind = card.UseCourse
			} else if l.rng.IntN(3) == 0 {
				child = 1 + l.rng.IntN(2)
			}
			use := card.UseID(fmt.Sprintf("u%d", u))
			recs = append(recs, l.enc(card.UseRecorded{Use: use, Venue: partner.ID(vloc + "-venue-" + fmt.Sprint(l.rng.IntN(20))),
				VenueLocality: locality.ID(vloc), UsedOn: issuedOn.AddDays(l.rng.IntN(300)), Category: cats[l.rng.IntN(len(cats))], Kind: kind, ChildTickets: child}))
			if l.rng.IntN(50) == 0 {
				recs = append(recs, l.enc(card.UseCancelled{Use: use, On: issuedOn}))
			}
		}
		batch = append(batch, domain.StreamAppend{Stream: card.Stream(id), Expected: domain.NoStream, Records: recs})
		events += len(recs)
		total += len(recs)
		if events >= 5000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return total
}

// settle waits until readers can see every event appended so far.
func (l *synthLog) settle() {
	l.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		head, err := l.store.Head(ctx)
		if err != nil {
			l.tb.Fatal(err)
		}
		if head >= l.last {
			return
		}
		select {
		case <-ctx.Done():
			l.tb.Fatalf("the log never became readable up to %d (head %d)", l.last, head)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
