package history_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/history"
)

var (
	national    = domain.Principal{Role: domain.RoleNational, KeyID: "k_nat"}
	coordinator = domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo", KeyID: "k_c1"}
	issuer      = domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1", KeyID: "k_i1"}
	venue       = domain.Principal{Role: domain.RoleVenue, Partner: "vantaa-museum", KeyID: "k_v1"}
)

type step struct {
	stream domain.StreamID
	event  domain.Event // nil: an event type this build does not know
	by     domain.Principal
}

// fixture appends steps to the real store, reads them back and records
// them, returning the stored records in order.
func fixture(t *testing.T, steps []step) ([]domain.Record, *history.Queries) {
	t.Helper()
	pool := pgtest.NewPool(t)
	mustExec(t, pool, history.DDL("history_v1"))
	store := postgres.NewStore(pool)
	defer store.Close()
	var recs []domain.Record
	corr := domain.NewEventID()
	for _, s := range steps {
		rec := domain.Record{ID: domain.NewEventID(), Type: "future.thing_happened", SchemaVersion: 1, Principal: s.by,
			CorrelationID: corr, Data: json.RawMessage(`{"x":1}`), OccurredAt: time.Now().UTC()}
		if s.event != nil {
			var err error
			if rec, err = domain.Encode(s.event, domain.Metadata{Principal: s.by, CorrelationID: corr}); err != nil {
				t.Fatal(err)
			}
		}
		if len(recs) > 0 {
			rec.CausationID = recs[len(recs)-1].ID
		}
		stored, err := store.Append(t.Context(), s.stream, domain.AnyVersion, rec)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		back, err := store.ReadStream(t.Context(), s.stream, stored[0].Version-1)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, back[0])
	}
	apply(t, pool, history.New("history_v1"), recs...)
	return recs, history.NewQueries(pool, "history_v1")
}

func network() []step {
	contact := domain.Person{Subject: "contact:espoo-sos-1:1", Name: "Anna Contact", Email: "anna@example.fi", Phone: "+358401234567"}
	newContact := domain.Person{Subject: "contact:espoo-sos-1:2", Name: "Dora Newcontact", Email: "dora@example.fi"}
	return []step{
		{guideline.Stream, guideline.National2022(), national}, // 0
		{locality.Stream("espoo"), locality.Registered{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")}, national},
		{locality.Stream("vantaa"), locality.Registered{ID: "vantaa", Name: "Vantaa", Municipalities: []string{"092"}, Scope: locality.ScopeLocal, JoinedOn: d("2024-01-01")}, national},
		{partner.Stream("espoo-sos-1"), partner.Joined{ID: "espoo-sos-1", Locality: "espoo", Name: "Sosiaalitoimi", Kind: partner.KindIssuer, Category: partner.CategorySocial, Contact: contact, JoinedOn: d("2024-01-02")}, coordinator},
		{partner.Stream("vantaa-museum"), partner.Joined{ID: "vantaa-museum", Locality: "vantaa", Name: "Museo", Kind: partner.KindVenue, Category: partner.CategoryCulture, Contact: contact, JoinedOn: d("2024-01-02")}, national},
		{partner.Stream("espoo-sos-1"), partner.ContactChanged{Contact: newContact, On: d("2024-05-01")}, coordinator}, // 5
		{agreement.Stream("agr-1"), agreement.Signed{ID: "agr-1", Locality: "espoo", Partner: "espoo-sos-1", Kind: agreement.KindNetwork, TemplateVersion: "2022-1", ValidFrom: d("2024-01-02"), ValidUntil: d("2024-12-31")}, coordinator},
		{agreement.Stream("agr-1"), agreement.Amended{On: d("2024-06-01"), ValidUntil: d("2025-12-31")}, coordinator},
		{card.Stream("K-0001"), card.Issued{Card: "K-0001", Issuer: "espoo-sos-1", Locality: "espoo", IssuedOn: d("2024-03-01"), ValidUntil: d("2025-02-28"), Kind: card.KindPersonal, Holder: card.Holder{BirthYear: 1971, PostalCode: "02100", MinorChildren: 2}}, issuer},
		{card.Stream("K-0001"), card.UseRecorded{Use: "u1", Venue: "vantaa-museum", VenueLocality: "vantaa", UsedOn: d("2024-04-02"), Category: "culture", Kind: card.UseEvent, ChildTickets: 1}, venue},
		{card.Stream("K-0001"), nil, issuer}, // 10: a type this build does not know
		{card.Stream("K-0001"), card.Cancelled{On: d("2024-09-01"), Reason: "lost"}, issuer},
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	recs, q := fixture(t, network())
	positions := func(evs []history.Event) []int {
		var out []int
		for _, e := range evs {
			for i, r := range recs {
				if r.Position == e.Position {
					out = append(out, i)
				}
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    history.Filter
		want []int // indexes into the steps
	}{
		{name: "without a filter every event is listed in log order", want: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{name: "a locality lists its own, its partners', agreements' and cards' events",
			f: history.Filter{Locality: "espoo"}, want: []int{1, 3, 5, 6, 7, 8, 9, 10, 11}},
		{name: "another locality lists only its own", f: history.Filter{Locality: "vantaa"}, want: []int{2, 4}},
		{name: "a stream lists that stream", f: history.Filter{Stream: agreement.Stream("agr-1")}, want: []int{6, 7}},
		{name: "a full type lists that type", f: history.Filter{Type: "partner.joined"}, want: []int{3, 4}},
		{name: "a type category lists every type of it", f: history.Filter{Type: "card"}, want: []int{8, 9, 11}},
		{name: "a principal with its key matches exactly", f: history.Filter{Principal: "venue@vantaa-museum#k_v1"}, want: []int{9}},
		{name: "a principal without a key matches all its keys", f: history.Filter{Principal: "coordinator@espoo"}, want: []int{3, 5, 6, 7}},
		{name: "filters combine", f: history.Filter{Locality: "espoo", Principal: "issuer@espoo-sos-1"}, want: []int{8, 10, 11}},
		{name: "after pages past a position", f: history.Filter{After: recs[9].Position}, want: []int{10, 11}},
		{name: "a record-time range is from inclusive to exclusive",
			f: history.Filter{From: recs[5].RecordedAt, To: recs[7].RecordedAt}, want: []int{5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := q.List(t.Context(), tt.f)
			if err != nil || fmt.Sprint(positions(p.Events)) != fmt.Sprint(tt.want) {
				t.Fatalf("List(%+v) = %v, %v; want %v", tt.f, positions(p.Events), err, tt.want)
			}
			if p.Next != 0 {
				t.Fatalf("Next = %d on a short page", p.Next)
			}
		})
	}
}

func TestEnvelopeAndPrivacy(t *testing.T) {
	t.Parallel()
	recs, q := fixture(t, network())
	p, err := q.List(t.Context(), history.Filter{})
	if err != nil || len(p.Events) != len(recs) {
		t.Fatalf("List = %d rows, %v", len(p.Events), err)
	}
	for i, e := range p.Events {
		r := recs[i]
		if e.Stream != r.Stream || e.Version != r.Version || e.Type != r.Type || e.SchemaVersion != r.SchemaVersion ||
			!e.OccurredAt.Equal(r.OccurredAt) || !e.RecordedAt.Equal(r.RecordedAt) || e.Principal != r.Principal.String() ||
			e.CorrelationID != r.CorrelationID || e.CausationID != r.CausationID {
			t.Errorf("row %d = %+v; want the envelope of %+v", i, e, r)
		}
		row, _ := json.Marshal(e)
		for _, secret := range []string{"Anna", "Dora", "anna@", "dora@", "+35840", "1971", "02100"} {
			if strings.Contains(string(row), secret) {
				t.Errorf("row %d carries personal data %q: %s", i, secret, row)
			}
		}
	}
	if got := p.Events[5].Summary; got != "contact of espoo-sos-1 changed from 2024-05-01" {
		t.Errorf("contact change summary = %q", got)
	}
	if got := p.Events[10]; got.Summary != "future.thing_happened.v1 on card-K-0001" || got.Locality != "espoo" {
		t.Errorf("unknown event row = %+v; want it kept with the card's locality", got)
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	recs, q := fixture(t, network())
	var seen []domain.Position
	f := history.Filter{Limit: 5}
	for pages := 0; ; pages++ {
		if pages > len(recs) {
			t.Fatal("paging does not end")
		}
		p, err := q.List(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			seen = append(seen, e.Position)
		}
		if p.Next == 0 {
			break
		}
		f.After = p.Next
	}
	if len(seen) != len(recs) {
		t.Fatalf("paging saw %d events, want %d", len(seen), len(recs))
	}
	for i, r := range recs {
		if seen[i] != r.Position {
			t.Fatalf("page order: position %d at %d, want %d", seen[i], i, r.Position)
		}
	}
}
