package network_test

import (
	"fmt"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/network"
)

func show(n network.Network) string {
	var s []string
	for _, l := range n.Localities {
		s = append(s, fmt.Sprintf("L:%s/%s", l.ID, l.State))
	}
	for _, p := range n.Partners {
		s = append(s, fmt.Sprintf("P:%s/%s/%s", p.ID, p.State, p.Contact.Name))
	}
	for _, a := range n.Agreements {
		s = append(s, fmt.Sprintf("A:%s/%s", a.ID, a.ValidUntil))
	}
	return fmt.Sprint(s)
}

func TestAsOf(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	const schema = "network_v1"
	mustExec(t, pool, network.DDL(schema))
	p := network.New(schema)
	anna := domain.Person{Subject: "c1", Name: "Anna"}
	feed(t, pool, p,
		given{locality.Stream("espoo"), locality.Registered{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: locality.ScopeNational,
			JoinedOn: d("2024-01-01"), Pilot: &locality.Period{From: d("2024-01-01"), Until: d("2024-12-31")}}},
		given{locality.Stream("espoo"), locality.PilotConcluded{On: d("2024-10-01")}},
		given{partner.Stream("sos"), partner.Joined{ID: "sos", Locality: "espoo", Name: "Sos", Kind: partner.KindIssuer, Category: partner.CategorySocial, Contact: anna, JoinedOn: d("2024-01-01")}},
		given{partner.Stream("sos"), partner.IssuerApproved{On: d("2024-02-01")}},
		given{partner.Stream("museum"), partner.Joined{ID: "museum", Locality: "espoo", Name: "Museum", Kind: partner.KindVenue, Category: partner.CategoryCulture, Contact: domain.Person{Subject: "c2", Name: "Bert"}, JoinedOn: d("2024-03-01")}},
		given{agreement.Stream("a1"), agreement.Signed{ID: "a1", Locality: "espoo", Partner: "sos", Kind: agreement.KindPilot, TemplateVersion: "t", ValidFrom: d("2024-01-01"), ValidUntil: d("2024-06-30")}},
		given{agreement.Stream("a1"), agreement.Amended{On: d("2024-06-01"), ValidUntil: d("2024-09-30")}},
		given{partner.Stream("sos"), partner.ContactChanged{Contact: domain.Person{Subject: "c3", Name: "Cecilia"}, On: d("2024-09-01")}},
		given{agreement.Stream("a2"), agreement.Signed{ID: "a2", Locality: "espoo", Partner: "sos", Kind: agreement.KindNetwork, TemplateVersion: "t", ValidFrom: d("2024-10-10")}},
	)
	q := network.NewQueries(pool, schema)
	before := map[string]string{}
	for _, on := range []string{"2023-12-31", "2024-01-15", "2024-05-01", "2024-08-01", "2024-10-15"} {
		n, err := q.AsOf(t.Context(), "espoo", d(on))
		if err != nil {
			t.Fatal(err)
		}
		before[on] = show(n)
	}
	// Recorded later: a contact change from paper forms dated 2024-07-01,
	// and the museum's departure on 2024-09-15.
	feed(t, pool, p,
		given{partner.Stream("sos"), partner.ContactChanged{Contact: domain.Person{Subject: "c4", Name: "Dora"}, On: d("2024-07-01")}},
		given{partner.Stream("museum"), partner.Left{On: d("2024-09-15")}},
	)
	tests := []struct {
		name string
		on   string
		want string
	}{
		{name: "before the locality joined the network is empty", on: "2023-12-31", want: "[]"},
		{name: "on joining, the pilot, the unapproved issuer and its pilot agreement are there", on: "2024-01-15",
			want: "[L:espoo/pilot P:sos/joined/Anna A:a1/2024-06-30]"},
		{name: "an earlier date still shows the state before the late corrections", on: "2024-05-01",
			want: "[L:espoo/pilot P:museum/joined/Bert P:sos/approved/Anna A:a1/2024-06-30]"},
		{name: "a contact change entered late shows from its business date", on: "2024-08-01",
			want: "[L:espoo/pilot P:museum/joined/Bert P:sos/approved/Dora A:a1/2024-09-30]"},
		{name: "a departure recorded late removes the partner from its date; the agreement expired", on: "2024-10-15",
			want: "[L:espoo/established P:sos/approved/Cecilia A:a2/]"},
		{name: "an agreement until further notice is in force decades later", on: "2060-01-01",
			want: "[L:espoo/established P:sos/approved/Cecilia A:a2/]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { // not parallel: the erasure below must come after
			n, err := q.AsOf(t.Context(), "espoo", d(tt.on))
			if err != nil || show(n) != tt.want {
				t.Fatalf("AsOf(%s) = %s, %v; want %s", tt.on, show(n), err, tt.want)
			}
		})
	}
	if before["2024-05-01"] != "[L:espoo/pilot P:museum/joined/Bert P:sos/approved/Anna A:a1/2024-06-30]" {
		t.Fatalf("AsOf(2024-05-01) before the corrections = %s", before["2024-05-01"])
	}
	if n, err := q.Erase(t.Context(), "c1"); err != nil || n != 1 {
		t.Fatalf("Erase = %d, %v", n, err)
	}
	if n, _ := q.AsOf(t.Context(), "espoo", d("2024-05-01")); n.Partners[1].Contact.Name != "" || n.Partners[1].Contact.Subject != "c1" {
		t.Fatalf("after erasure contact = %+v", n.Partners[1].Contact)
	}
}

func TestLocalities(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	const schema = "network_v1"
	mustExec(t, pool, network.DDL(schema))
	feed(t, pool, network.New(schema),
		given{locality.Stream("espoo"), locality.Registered{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: locality.ScopeNational,
			JoinedOn: d("2024-01-01"), Pilot: &locality.Period{From: d("2024-01-01"), Until: d("2024-12-31")}}},
		given{locality.Stream("espoo"), locality.PilotConcluded{On: d("2024-10-01")}},
		given{locality.Stream("savonlinna"), locality.Registered{ID: "savonlinna", Name: "Savonlinna", Municipalities: []string{"740"}, Scope: locality.ScopeLocal, JoinedOn: d("2018-01-01")}},
		given{locality.Stream("savonlinna"), locality.Left{On: d("2024-06-30")}},
	)
	q := network.NewQueries(pool, schema)
	show := func(ms []network.Member) string {
		var s []string
		for _, m := range ms {
			s = append(s, fmt.Sprintf("%s/%s/%s/%s..%s", m.ID, m.Scope, m.State, m.JoinedOn, m.LeftOn))
		}
		return fmt.Sprint(s)
	}
	for _, tt := range []struct {
		loc, on, want string
	}{
		{"", "2024-05-01", "[espoo/national/pilot/2024-01-01.. savonlinna/local/established/2018-01-01..2024-06-30]"},
		{"", "2025-01-01", "[espoo/national/established/2024-01-01.. savonlinna/local/left/2018-01-01..2024-06-30]"},
		{"espoo", "2023-01-01", "[espoo/national//2024-01-01..]"},
	} {
		got, err := q.Localities(t.Context(), locality.ID(tt.loc), d(tt.on))
		if err != nil || show(got) != tt.want {
			t.Errorf("Localities(%q, %s) = %s, %v; want %s", tt.loc, tt.on, show(got), err, tt.want)
		}
	}
}
