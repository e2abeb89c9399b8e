package cards_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/cards"
)

func network() []given {
	loc := func(id string, scope locality.Scope) given {
		return given{locality.Stream(locality.ID(id)), locality.Registered{ID: locality.ID(id), Name: id, Municipalities: []string{"049"},
			Scope: scope, JoinedOn: d("2024-01-01")}}
	}
	venue := func(id, loc string) given {
		return given{partner.Stream(partner.ID(id)), partner.Joined{ID: partner.ID(id), Locality: locality.ID(loc), Name: id,
			Kind: partner.KindVenue, Category: partner.CategoryCulture, JoinedOn: d("2024-01-15")}}
	}
	holder := card.Holder{BirthYear: 1971, PostalCode: "02100", MinorChildren: 2, LifeSituation: "unemployed"}
	return []given{
		loc("espoo", locality.ScopeNational), loc("vantaa", locality.ScopeNational), loc("savonlinna", locality.ScopeLocal),
		venue("espoo-museum", "espoo"), venue("vantaa-hall", "vantaa"), venue("savonlinna-hall", "savonlinna"),
		{partner.Stream("espoo-museum"), partner.Left{On: d("2025-01-01")}},
		{card.Stream("K-1"), card.Issued{Card: "K-1", Issuer: "espoo-sos-1", Locality: "espoo", IssuedOn: d("2024-03-01"), ValidUntil: d("2025-02-28"), Kind: card.KindPersonal, Holder: holder}},
		{card.Stream("K-1"), card.Renewed{On: d("2025-02-01"), ValidUntil: d("2026-01-31")}},
		{card.Stream("K-1"), card.DetailsCorrected{On: d("2024-04-01"), MinorChildren: ptr(3)}},
		{card.Stream("K-1"), card.UseRecorded{Use: "u1", Venue: "espoo-museum", VenueLocality: "espoo", UsedOn: d("2024-04-02"), Category: "culture", Kind: card.UseEvent, ChildTickets: 1}},
		{card.Stream("K-1"), card.UseRecorded{Use: "u2", Venue: "vantaa-hall", VenueLocality: "vantaa", UsedOn: d("2024-05-02"), Category: "sport", Kind: card.UseCourse, Assistant: true}},
		{card.Stream("K-1"), card.UseRecorded{Use: "u3", Venue: "espoo-museum", VenueLocality: "espoo", UsedOn: d("2024-06-02"), Category: "culture", Kind: card.UseEvent}},
		{card.Stream("K-1"), card.UseCancelled{Use: "u3", On: d("2024-06-03")}},
		{card.Stream("K-2"), card.Issued{Card: "K-2", Issuer: "espoo-sos-1", Locality: "espoo", IssuedOn: d("2024-03-01"), ValidUntil: d("2025-02-28"), Kind: card.KindCommunity, Holder: card.Holder{PostalCode: "02100"}}},
		{card.Stream("K-2"), card.Replaced{NewCard: "K-3", On: d("2024-07-01")}},
		{card.Stream("K-3"), card.ReplacementIssued{Card: "K-3", ReplacesCard: "K-2", Issuer: "espoo-sos-1", Locality: "espoo", IssuedOn: d("2024-07-01"), ValidUntil: d("2025-02-28"), Kind: card.KindCommunity, Holder: card.Holder{PostalCode: "02100"}}},
		{card.Stream("K-3"), card.Cancelled{On: d("2024-09-01")}},
		{card.Stream("K-3"), card.UseRecorded{Use: "u4", Venue: "espoo-museum", VenueLocality: "espoo", UsedOn: d("2024-08-02"), Category: "culture", Kind: card.UseEvent}},
	}
}

func ptr[T any](v T) *T { return &v }

func useIDs(us []cards.Use) string {
	var s []string
	for _, u := range us {
		s = append(s, fmt.Sprintf("%s/%s/%s/%v", u.Card, u.ID, u.UsedOn, u.Cancelled))
	}
	return fmt.Sprint(s)
}

func TestCards(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	const schema = "cards_v1"
	mustExec(t, pool, cards.DDL(schema))
	p := cards.New(schema)
	recs := feed(t, pool, p, network()...)
	apply(t, pool, p, recs...) // redelivered: changes nothing
	q := cards.NewQueries(pool, schema)
	ctx := t.Context()

	t.Run("a renewed, corrected card keeps both periods and the corrected details", func(t *testing.T) {
		t.Parallel()
		c, err := q.Card(ctx, "K-1")
		if err != nil {
			t.Fatal(err)
		}
		s := c.Standing
		if len(s.Periods) != 2 || s.ValidUntil() != d("2026-01-31") || s.Locality != "espoo" || s.MinorChildren != 3 ||
			c.Holder.MinorChildren != 3 || c.Holder.BirthYear != 1971 || c.Holder.LifeSituation != "unemployed" || c.Kind != card.KindPersonal || c.Issuer != "espoo-sos-1" {
			t.Fatalf("card = %+v", c)
		}
		if s.StatusOn(d("2025-06-01")) != card.StatusValid || s.StatusOn(d("2026-02-01")) != card.StatusExpired {
			t.Fatalf("status = %s, %s", s.StatusOn(d("2025-06-01")), s.StatusOn(d("2026-02-01")))
		}
	})
	t.Run("a replaced card names its successor, which names it and can be cancelled", func(t *testing.T) {
		t.Parallel()
		old, err := q.Card(ctx, "K-2")
		if err != nil || old.Standing.ReplacedBy != "K-3" || old.Standing.StatusOn(d("2024-07-01")) != card.StatusReplaced {
			t.Fatalf("old = %+v, %v", old, err)
		}
		n, err := q.Card(ctx, "K-3")
		if err != nil || n.Replaces != "K-2" || n.Holder.BirthYear != 0 || n.Standing.StatusOn(d("2024-09-01")) != card.StatusCancelled ||
			n.Standing.StatusOn(d("2024-08-31")) != card.StatusValid {
			t.Fatalf("new = %+v, %v", n, err)
		}
	})
	t.Run("an unknown card is not found", func(t *testing.T) {
		t.Parallel()
		if _, err := q.Card(ctx, "K-404"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Card(K-404) error = %v, want ErrNotFound", err)
		}
	})
	t.Run("venue facts give the scope rule what it needs", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			venue partner.ID
			on    string
			code  string
		}{
			{"espoo-museum", "2024-06-01", ""},
			{"vantaa-hall", "2024-06-01", ""},
			{"savonlinna-hall", "2024-06-01", "out_of_scope"},
			{"espoo-museum", "2025-01-01", "venue_left"},
			{"nobody", "2024-06-01", "venue_unknown"},
		} {
			c, f, err := q.Check(ctx, "K-1", tt.venue)
			if err != nil {
				t.Fatal(err)
			}
			if got := domain.CodeOf(c.Standing.UsableAt(d(tt.on), f)); got != tt.code {
				t.Errorf("K-1 at %s on %s: %q, want %q (facts %+v)", tt.venue, tt.on, got, tt.code, f)
			}
		}
	})
	t.Run("a card's uses of a period, cancelled ones marked", func(t *testing.T) {
		t.Parallel()
		us, err := q.CardUses(ctx, "K-1", d("2024-05-01"), d("2024-12-31"))
		want := "[K-1/u2/2024-05-02/false K-1/u3/2024-06-02/true]"
		if err != nil || useIDs(us) != want {
			t.Fatalf("CardUses = %s, %v; want %s", useIDs(us), err, want)
		}
		if !us[0].Assistant || us[0].Kind != card.UseCourse || us[0].Category != "sport" || us[0].VenueLocality != "vantaa" {
			t.Fatalf("use = %+v", us[0])
		}
	})
	t.Run("a venue's uses are paged by position and bounded by date", func(t *testing.T) {
		t.Parallel()
		p1, err := q.VenueUses(ctx, cards.UseFilter{Venue: "espoo-museum", Limit: 2})
		if err != nil || useIDs(p1.Uses) != "[K-1/u1/2024-04-02/false K-1/u3/2024-06-02/true]" || p1.Next == 0 {
			t.Fatalf("page 1 = %s next %d, %v", useIDs(p1.Uses), p1.Next, err)
		}
		p2, err := q.VenueUses(ctx, cards.UseFilter{Venue: "espoo-museum", Limit: 2, After: p1.Next})
		if err != nil || useIDs(p2.Uses) != "[K-3/u4/2024-08-02/false]" || p2.Next != 0 {
			t.Fatalf("page 2 = %s next %d, %v", useIDs(p2.Uses), p2.Next, err)
		}
		ranged, err := q.VenueUses(ctx, cards.UseFilter{Venue: "espoo-museum", From: d("2024-05-01"), To: d("2024-07-01")})
		if err != nil || useIDs(ranged.Uses) != "[K-1/u3/2024-06-02/true]" {
			t.Fatalf("ranged = %s, %v", useIDs(ranged.Uses), err)
		}
		if _, err := q.VenueUses(ctx, cards.UseFilter{Venue: "espoo-museum", From: d("2024-05-01"), To: d("2024-04-01")}); domain.CodeOf(err) != "invalid_range" {
			t.Fatalf("reversed range error = %v", err)
		}
	})
	t.Run("reset empties the read model", func(t *testing.T) {
		t.Parallel()
		const other = "cards_v2"
		mustExec(t, pool, cards.DDL(other))
		p2 := cards.New(other)
		apply(t, pool, p2, recs...)
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return p2.Reset(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		if _, err := cards.NewQueries(pool, other).Card(ctx, "K-1"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("after Reset: %v", err)
		}
	})
}
