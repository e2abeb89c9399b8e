package commitments_test

import (
	"fmt"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/commitments"
)

func joined(id, loc, on string) given {
	return given{partner.Stream(partner.ID(id)), partner.Joined{ID: partner.ID(id), Locality: locality.ID(loc), Name: "P " + id,
		Kind: partner.KindVenue, Category: partner.CategoryCulture, Contact: domain.Person{Subject: "s-" + id, Name: "N"}, JoinedOn: d(on)}}
}

func committed(id, version string, via partner.Via, on string) given {
	return given{partner.Stream(partner.ID(id)), partner.GuidelineCommitted{GuidelineVersion: guideline.Version(version), Via: via, On: d(on)}}
}

func v2025() guideline.Revised {
	r := guideline.National2022()
	r.Version, r.AdoptedOn, r.EffectiveFrom = "2025", d("2024-11-01"), d("2025-01-01")
	return r
}

func TestList(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	const schema = "commitments_v1"
	mustExec(t, pool, commitments.DDL(schema))
	feed(t, pool, commitments.New(schema),
		given{guideline.Stream, guideline.National2022()},
		given{guideline.Stream, v2025()},
		joined("espoo-a", "espoo", "2024-01-01"),
		joined("espoo-b", "espoo", "2024-01-01"),
		joined("espoo-c", "espoo", "2024-01-01"),
		joined("espoo-late", "espoo", "2025-03-01"),
		joined("vantaa-a", "vantaa", "2024-01-01"),
		joined("turku-early", "turku", "2021-12-10"),
		joined("turku-none", "turku", "2021-12-10"),
		committed("turku-early", "2022", partner.ViaRegister, "2021-12-20"),
		committed("espoo-a", "2022", partner.ViaAgreement, "2024-01-10"),
		committed("espoo-a", "2025", partner.ViaWebsite, "2025-01-05"),
		committed("espoo-b", "2022", partner.ViaBrochure, "2024-02-01"),
		committed("vantaa-a", "2022", partner.ViaRegister, "2024-02-01"),
		given{partner.Stream("espoo-c"), partner.Left{On: d("2025-02-01")}},
	)
	q := commitments.NewQueries(pool, schema)
	row := func(c commitments.Commitment) string {
		return fmt.Sprintf("%s:%s:%s:%s:%s/%s", c.Partner, c.Status, c.Version, c.Via, c.On, c.InForce)
	}
	tests := []struct {
		name   string
		loc    locality.ID
		status commitments.Status
		on     string
		want   []string
	}{
		{name: "under the 2022 version every commitment to 2022 is current and a partner without one is missing",
			loc: "espoo", on: "2024-06-01", want: []string{
				"espoo-a:committed:2022:agreement:2024-01-10/2022", "espoo-b:committed:2022:brochure:2024-02-01/2022", "espoo-c:missing:::/2022"}},
		{name: "a commitment made after the date does not count yet",
			loc: "espoo", on: "2024-01-20", want: []string{
				"espoo-a:committed:2022:agreement:2024-01-10/2022", "espoo-b:missing:::/2022", "espoo-c:missing:::/2022"}},
		{name: "once a new version takes effect older commitments are outdated",
			loc: "espoo", on: "2025-01-03", want: []string{
				"espoo-a:outdated:2022:agreement:2024-01-10/2025", "espoo-b:outdated:2022:brochure:2024-02-01/2025", "espoo-c:missing:::/2025"}},
		{name: "a partner that committed to the version in force is committed, and one that left is not listed",
			loc: "espoo", on: "2025-03-01", want: []string{
				"espoo-a:committed:2025:website:2025-01-05/2025", "espoo-b:outdated:2022:brochure:2024-02-01/2025", "espoo-late:missing:::/2025"}},
		{name: "the status filter lists who is missing",
			loc: "espoo", status: commitments.StatusMissing, on: "2025-03-01", want: []string{"espoo-late:missing:::/2025"}},
		{name: "the status filter lists who is outdated, across localities when none is given",
			status: commitments.StatusOutdated, on: "2025-03-01", want: []string{
				"espoo-b:outdated:2022:brochure:2024-02-01/2025", "turku-early:outdated:2022:register:2021-12-20/2025",
				"vantaa-a:outdated:2022:register:2024-02-01/2025"}},
		{name: "before any version takes effect a commitment counts as committed",
			loc: "turku", on: "2021-12-31", want: []string{"turku-early:committed:2022:register:2021-12-20/", "turku-none:missing:::/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := q.List(t.Context(), tt.loc, tt.status, d(tt.on))
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var rows []string
			for _, c := range got {
				rows = append(rows, row(c))
			}
			if fmt.Sprint(rows) != fmt.Sprint(tt.want) {
				t.Fatalf("List(%q, %q, %s) =\n%v\nwant\n%v", tt.loc, tt.status, tt.on, rows, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "committed", "outdated", "missing"} {
		if _, err := commitments.ParseStatus(s); err != nil {
			t.Errorf("ParseStatus(%q) = %v", s, err)
		}
	}
	if _, err := commitments.ParseStatus("pending"); domain.CodeOf(err) != "invalid_status" {
		t.Errorf("ParseStatus(pending) = %v, want invalid_status", err)
	}
}
