package agreements_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/agreements"
)

func signed(id, loc, from, until string) given {
	return given{agreement.Stream(agreement.ID(id)), agreement.Signed{ID: agreement.ID(id), Locality: locality.ID(loc), Partner: partner.ID("p-" + id),
		Kind: agreement.KindNetwork, TemplateVersion: "2022-1", ValidFrom: d(from), ValidUntil: d(until)}}
}

func TestAgreements(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	const schema = "agreements_v1"
	mustExec(t, pool, agreements.DDL(schema))
	feed(t, pool, agreements.New(schema),
		signed("a-amended", "espoo", "2024-01-01", "2024-12-31"),
		given{agreement.Stream("a-amended"), agreement.Amended{On: d("2024-11-01"), ValidUntil: d("2025-12-31"), Reason: "extension"}},
		signed("a-terminated", "espoo", "2024-01-01", "2025-12-31"),
		given{agreement.Stream("a-terminated"), agreement.Terminated{On: d("2025-03-01"), Reason: "partner_left"}},
		signed("a-plain", "espoo", "2024-06-01", "2024-12-31"),
		given{agreement.Stream("v-1"), agreement.Signed{ID: "v-1", Locality: "vantaa", Partner: "vantaa-x", Kind: agreement.KindPilot,
			TemplateVersion: "2022-1", ValidFrom: d("2024-01-01"), ValidUntil: d("2025-12-31")}},
		given{agreement.Stream("v-open"), agreement.Signed{ID: "v-open", Locality: "vantaa", Partner: "vantaa-y", Kind: agreement.KindNetwork,
			TemplateVersion: "2022-1", ValidFrom: d("2025-01-01")}},
		given{agreement.Stream("v-reopened"), agreement.Signed{ID: "v-reopened", Locality: "vantaa", Partner: "vantaa-z", Kind: agreement.KindNetwork,
			TemplateVersion: "2022-1", ValidFrom: d("2025-01-01"), ValidUntil: d("2025-06-30")}},
		given{agreement.Stream("v-reopened"), agreement.Amended{On: d("2025-03-01"), Reason: "extension"}},
	)
	q := agreements.NewQueries(pool, schema)
	ids := func(as []agreements.Agreement) []string {
		var out []string
		for _, a := range as {
			out = append(out, string(a.ID))
		}
		return out
	}
	t.Run("in force", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			loc  string
			on   string
			want []string
		}{
			{name: "every agreement within its validity is in force", loc: "espoo", on: "2024-06-01", want: []string{"a-amended", "a-terminated", "a-plain"}},
			{name: "an amendment extends the validity", loc: "espoo", on: "2025-02-01", want: []string{"a-amended", "a-terminated"}},
			{name: "a terminated agreement is out of force from its termination date", loc: "espoo", on: "2025-03-01", want: []string{"a-amended"}},
			{name: "an expired agreement is not in force the day after its last valid day", loc: "espoo", on: "2026-01-01", want: nil},
			{name: "no locality means every locality", loc: "", on: "2024-01-01", want: []string{"a-amended", "a-terminated", "v-1"}},
			{name: "an agreement until further notice, signed or amended so, is in force decades later", loc: "vantaa", on: "2060-01-01", want: []string{"v-open", "v-reopened"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := q.InForce(t.Context(), locality.ID(tt.loc), d(tt.on))
				if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(tt.want) {
					t.Fatalf("InForce(%q, %s) = %v, %v; want %v", tt.loc, tt.on, ids(got), err, tt.want)
				}
			})
		}
	})
	t.Run("timeline", func(t *testing.T) {
		t.Parallel()
		entries := func(tl agreements.Timeline) []string {
			var out []string
			for _, e := range tl.Entries {
				out = append(out, fmt.Sprintf("%s %s until %s %s", e.What, e.On, e.ValidUntil, e.Note))
			}
			return out
		}
		tests := []struct {
			name string
			id   agreement.ID
			asOf string
			want []string
		}{
			{name: "an amended agreement lists its signing and amendment", id: "a-amended", asOf: "2025-06-01",
				want: []string{"signed 2024-01-01 until 2024-12-31 ", "amended 2024-11-01 until 2025-12-31 extension"}},
			{name: "an agreement past its last valid day ends with a derived expiry", id: "a-amended", asOf: "2026-01-02",
				want: []string{"signed 2024-01-01 until 2024-12-31 ", "amended 2024-11-01 until 2025-12-31 extension", "expired 2026-01-01 until 2025-12-31 "}},
			{name: "a terminated agreement ends with its termination and never expires", id: "a-terminated", asOf: "2027-01-01",
				want: []string{"signed 2024-01-01 until 2025-12-31 ", "terminated 2025-03-01 until 2025-12-31 partner_left"}},
			{name: "an agreement until further notice never expires", id: "v-open", asOf: "2060-01-01",
				want: []string{"signed 2025-01-01 until  "}},
			{name: "an amendment to until further notice ends the expiry", id: "v-reopened", asOf: "2060-01-01",
				want: []string{"signed 2025-01-01 until 2025-06-30 ", "amended 2025-03-01 until  extension"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tl, err := q.Timeline(t.Context(), tt.id, d(tt.asOf))
				if err != nil || fmt.Sprint(entries(tl)) != fmt.Sprint(tt.want) {
					t.Fatalf("Timeline(%s) = %q, %v; want %q", tt.id, entries(tl), err, tt.want)
				}
			})
		}
	})
	t.Run("an unknown agreement has no timeline", func(t *testing.T) {
		t.Parallel()
		if _, err := q.Timeline(t.Context(), "nope", d("2025-01-01")); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Timeline(nope) error = %v, want ErrNotFound", err)
		}
	})
	t.Run("the list shows every agreement with its current state", func(t *testing.T) {
		t.Parallel()
		got, err := q.List(t.Context(), "espoo")
		if err != nil || len(got) != 3 {
			t.Fatalf("List = %+v, %v", got, err)
		}
		if a := got[0]; a.ID != "a-amended" || a.ValidUntil != d("2025-12-31") || !a.TerminatedOn.IsZero() {
			t.Fatalf("List[0] = %+v; want the amended validity", a)
		}
		if a := got[1]; a.TerminatedOn != d("2025-03-01") || a.InForceOn(d("2025-03-01")) || !a.InForceOn(d("2025-02-28")) {
			t.Fatalf("List[1] = %+v; want terminated on 2025-03-01", a)
		}
	})
}
