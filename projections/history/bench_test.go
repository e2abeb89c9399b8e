package history_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/history"
)

// BenchmarkHandle measures recording card uses (the bulk of a replay), a
// page of 1000 per transaction as the runtime's catch-up applies them.
func BenchmarkHandle(b *testing.B) {
	pool := pgtest.NewPool(b)
	if _, err := pool.Exec(b.Context(), history.DDL("history_v1")); err != nil {
		b.Fatal(err)
	}
	p := history.New("history_v1")
	mk := func(pos int, ev domain.Event, stream domain.StreamID) (domain.Record, domain.Event) {
		rec, err := domain.Encode(ev, domain.Metadata{Principal: domain.System, CorrelationID: domain.NewEventID()})
		if err != nil {
			b.Fatal(err)
		}
		rec.Stream, rec.Version, rec.Position, rec.RecordedAt = stream, domain.Version(pos), domain.Position(pos), time.Now()
		return rec, ev
	}
	err := pgx.BeginFunc(b.Context(), pool, func(tx pgx.Tx) error {
		rec, ev := mk(1, card.Issued{Card: "K-1", Issuer: "x", Locality: "espoo", IssuedOn: domain.MustDate("2024-01-01")}, card.Stream("K-1"))
		if err := p.Handle(b.Context(), tx, rec, ev); err != nil {
			return err
		}
		return p.Flush(b.Context(), tx)
	})
	if err != nil {
		b.Fatal(err)
	}
	use := card.UseRecorded{Use: "u", Venue: partner.ID("v"), VenueLocality: "espoo", UsedOn: domain.MustDate("2024-02-01"), Category: "culture", Kind: card.UseEvent}
	b.ResetTimer()
	for i := 0; i < b.N; {
		err := pgx.BeginFunc(b.Context(), pool, func(tx pgx.Tx) error {
			for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
				rec, ev := mk(i+2, use, card.Stream("K-1"))
				if err := p.Handle(b.Context(), tx, rec, ev); err != nil {
					return err
				}
			}
			return p.Flush(b.Context(), tx) // as the runtime does once per batch
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
