package contacts_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/contacts"
)

func person(subject, name string) domain.Person {
	return domain.Person{Subject: subject, Name: name, Email: subject + "@example.fi", Phone: "+358 40 000 0000"}
}

func joined(id, loc string, kind partner.Kind, cat partner.Category, on string, contact domain.Person) given {
	return given{partner.Stream(partner.ID(id)), partner.Joined{ID: partner.ID(id), Locality: locality.ID(loc),
		Name: "Partner " + id, Kind: kind, Category: cat, Contact: contact, JoinedOn: d(on)}}
}

func changed(id, on string, contact domain.Person) given {
	return given{partner.Stream(partner.ID(id)), partner.ContactChanged{Contact: contact, On: d(on)}}
}

func names(cs []contacts.Contact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s:%s:%s..%s", c.Partner, c.Name, c.From, c.To))
	}
	return out
}

func TestContacts(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	base := []given{
		joined("espoo-sos-1", "espoo", partner.KindIssuer, partner.CategorySocial, "2024-01-01", person("s1", "Anna")),
		joined("espoo-museum", "espoo", partner.KindVenue, partner.CategoryCulture, "2024-01-01", person("s2", "Bert")),
		joined("vantaa-sos-1", "vantaa", partner.KindIssuer, partner.CategoryHealth, "2024-02-01", person("s3", "Cecilia")),
	}
	tests := []struct {
		name  string
		given []given
		check func(t *testing.T, q *contacts.Queries)
	}{
		{
			name:  "a joined partner's contact is its current contact",
			given: base,
			check: func(t *testing.T, q *contacts.Queries) {
				got, err := q.Current(t.Context(), "espoo")
				want := []string{"espoo-museum:Bert:2024-01-01..", "espoo-sos-1:Anna:2024-01-01.."}
				if err != nil || fmt.Sprint(names(got)) != fmt.Sprint(want) {
					t.Fatalf("Current = %v, %v; want %v", names(got), err, want)
				}
				if got[1].Email != "s1@example.fi" || got[1].Subject != "s1" || got[1].PartnerName != "Partner espoo-sos-1" {
					t.Fatalf("contact = %+v", got[1])
				}
			},
		},
		{
			name:  "a contact change replaces the contact and closes the old one on the change's date",
			given: append(base, changed("espoo-sos-1", "2024-06-01", person("s4", "Dora"))),
			check: func(t *testing.T, q *contacts.Queries) {
				cur, err := q.Current(t.Context(), "espoo")
				if err != nil || len(cur) != 2 || cur[1].Name != "Dora" {
					t.Fatalf("Current = %v, %v; want Dora current for espoo-sos-1", names(cur), err)
				}
				hist, err := q.History(t.Context(), "espoo-sos-1")
				want := []string{"espoo-sos-1:Anna:2024-01-01..2024-06-01", "espoo-sos-1:Dora:2024-06-01.."}
				if err != nil || fmt.Sprint(names(hist)) != fmt.Sprint(want) {
					t.Fatalf("History = %v, %v; want %v", names(hist), err, want)
				}
			},
		},
		{
			name: "a change entered late with an earlier date lands inside the history, not on top",
			given: append(base,
				changed("espoo-sos-1", "2024-06-01", person("s4", "Dora")),
				changed("espoo-sos-1", "2024-03-01", person("s5", "Eero"))),
			check: func(t *testing.T, q *contacts.Queries) {
				hist, err := q.History(t.Context(), "espoo-sos-1")
				want := []string{"espoo-sos-1:Anna:2024-01-01..2024-03-01", "espoo-sos-1:Eero:2024-03-01..2024-06-01", "espoo-sos-1:Dora:2024-06-01.."}
				if err != nil || fmt.Sprint(names(hist)) != fmt.Sprint(want) {
					t.Fatalf("History = %v, %v; want %v", names(hist), err, want)
				}
				cur, _ := q.Current(t.Context(), "espoo")
				if len(cur) != 2 || cur[1].Name != "Dora" {
					t.Fatalf("Current = %v; want Dora to stay current", names(cur))
				}
			},
		},
		{
			name: "a partner that left has no current contact and is listed as left",
			given: append(base, given{partner.Stream("espoo-museum"), partner.Left{On: d("2025-01-01")}},
				given{partner.Stream("espoo-sos-1"), partner.IssuerApproved{On: d("2024-01-15")}}),
			check: func(t *testing.T, q *contacts.Queries) {
				cur, err := q.Current(t.Context(), "espoo")
				if err != nil || len(cur) != 1 || cur[0].Partner != "espoo-sos-1" {
					t.Fatalf("Current = %v, %v; want only espoo-sos-1", names(cur), err)
				}
				ps, err := q.Partners(t.Context(), "espoo")
				if err != nil || len(ps) != 2 {
					t.Fatalf("Partners = %+v, %v", ps, err)
				}
				if ps[0].ID != "espoo-museum" || ps[0].State != contacts.StateLeft || ps[0].LeftOn != d("2025-01-01") || ps[0].Kind != partner.KindVenue {
					t.Fatalf("museum = %+v; want left on 2025-01-01", ps[0])
				}
				if ps[1].State != contacts.StateApproved || ps[1].ApprovedOn != d("2024-01-15") || ps[1].Category != partner.CategorySocial {
					t.Fatalf("issuer = %+v; want approved on 2024-01-15", ps[1])
				}
			},
		},
		{
			name:  "an empty locality lists every locality's contacts",
			given: base,
			check: func(t *testing.T, q *contacts.Queries) {
				cur, err := q.Current(t.Context(), "")
				if err != nil || len(cur) != 3 {
					t.Fatalf("Current(all) = %v, %v; want 3", names(cur), err)
				}
				ps, err := q.Partners(t.Context(), "vantaa")
				if err != nil || len(ps) != 1 || ps[0].State != contacts.StateJoined {
					t.Fatalf("Partners(vantaa) = %+v, %v", ps, err)
				}
			},
		},
		{
			name: "a new coordinator of a side replaces the previous one of that side only",
			given: []given{
				{locality.Stream("espoo"), locality.CoordinatorAssigned{Side: locality.SideCulture, Person: person("coordinator:espoo:1", "Fanni"), On: d("2024-01-01")}},
				{locality.Stream("espoo"), locality.CoordinatorAssigned{Side: locality.SideSocial, Person: person("coordinator:espoo:2", "Gustav"), On: d("2024-01-01")}},
				{locality.Stream("espoo"), locality.CoordinatorAssigned{Side: locality.SideCulture, Person: person("coordinator:espoo:3", "Hilma"), On: d("2024-09-01")}},
				{locality.Stream("vantaa"), locality.CoordinatorAssigned{Side: locality.SideCulture, Person: person("coordinator:vantaa:1", "Ilmari"), On: d("2024-01-01")}},
			},
			check: func(t *testing.T, q *contacts.Queries) {
				got, err := q.Coordinators(t.Context(), "espoo")
				if err != nil || len(got) != 2 {
					t.Fatalf("Coordinators = %+v, %v; want 2", got, err)
				}
				if got[0].Side != locality.SideCulture || got[0].Name != "Hilma" || got[0].From != d("2024-09-01") || got[1].Name != "Gustav" {
					t.Fatalf("Coordinators = %+v; want Hilma (culture) and Gustav (social)", got)
				}
			},
		},
		{
			name:  "erasing a subject removes its personal data but keeps the history's dates",
			given: append(base, changed("espoo-sos-1", "2024-06-01", person("s4", "Dora"))),
			check: func(t *testing.T, q *contacts.Queries) {
				n, err := q.Erase(t.Context(), "s1")
				if err != nil || n != 1 {
					t.Fatalf("Erase = %d, %v; want 1 row", n, err)
				}
				hist, err := q.History(t.Context(), "espoo-sos-1")
				if err != nil || len(hist) != 2 || hist[0].Name != "" || hist[0].Email != "" || hist[0].Phone != "" || hist[0].Subject != "s1" || hist[1].Name != "Dora" {
					t.Fatalf("History after erasure = %+v, %v", hist, err)
				}
			},
		},
		{
			name:  "the history of an unknown partner is not found",
			given: base,
			check: func(t *testing.T, q *contacts.Queries) {
				if _, err := q.History(t.Context(), "nobody"); !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("History(nobody) error = %v, want ErrNotFound", err)
				}
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schema := fmt.Sprintf("contacts_t%d", i)
			mustExec(t, pool, contacts.DDL(schema))
			feed(t, pool, contacts.New(schema), tt.given...)
			tt.check(t, contacts.NewQueries(pool, schema))
		})
	}
}

func TestRedeliveryAndReset(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	p := contacts.New("contacts_v1")
	mustExec(t, pool, contacts.DDL("contacts_v1"))
	mustExec(t, pool, contacts.DDL("contacts_v2"))
	recs := feed(t, pool, p,
		joined("espoo-sos-1", "espoo", partner.KindIssuer, partner.CategorySocial, "2024-01-01", person("s1", "Anna")),
		changed("espoo-sos-1", "2024-06-01", person("s4", "Dora")))
	apply(t, pool, p, recs...) // redelivered
	q := contacts.NewQueries(pool, "contacts_v1")
	hist, err := q.History(t.Context(), "espoo-sos-1")
	if err != nil || len(hist) != 2 {
		t.Fatalf("History after redelivery = %v, %v; want 2 contacts", names(hist), err)
	}
	if cur, err := contacts.NewQueries(pool, "contacts_v2").Current(t.Context(), ""); err != nil || len(cur) != 0 {
		t.Fatalf("the other schema's Current = %v, %v; want it untouched", names(cur), err)
	}
	if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return p.Reset(t.Context(), tx) }); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if cur, err := q.Current(t.Context(), ""); err != nil || len(cur) != 0 {
		t.Fatalf("Current after Reset = %v, %v; want none", names(cur), err)
	}
}
