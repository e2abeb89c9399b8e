package guideline_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
)

func d(s string) domain.Date { return domain.MustDate(s) }

func v2025() guideline.Revised {
	r := guideline.National2022()
	r.Version = "2025"
	r.AdoptedOn = d("2024-11-01")
	r.EffectiveFrom = d("2025-01-01")
	r.Rules.ChildTicketMaxAge = 15
	return r
}

func TestRevise(t *testing.T) {
	t.Parallel()
	withRules := func(f func(*guideline.Rules)) guideline.Revised {
		r := v2025()
		f(&r.Rules)
		return r
	}
	tests := []struct {
		name     string
		given    []domain.Event
		when     guideline.Revised
		wantCode string
	}{
		{name: "the first version is adopted", when: guideline.National2022()},
		{name: "a later version is adopted after an earlier one", given: []domain.Event{guideline.National2022()}, when: v2025()},
		{name: "a version name cannot be reused", given: []domain.Event{guideline.National2022()},
			when: func() guideline.Revised { r := v2025(); r.Version = "2022"; return r }(), wantCode: "guideline_version_exists"},
		{name: "a version must take effect strictly after the previous one", given: []domain.Event{guideline.National2022()},
			when: func() guideline.Revised {
				r := v2025()
				r.AdoptedOn = d("2021-12-01")
				r.EffectiveFrom = d("2022-01-01")
				return r
			}(), wantCode: "guideline_not_after_previous"},
		{name: "a version cannot take effect before its adoption",
			when: func() guideline.Revised { r := v2025(); r.EffectiveFrom = d("2024-01-01"); return r }(), wantCode: "effective_before_adoption"},
		{name: "a malformed version name is rejected",
			when: func() guideline.Revised { r := v2025(); r.Version = "20 25"; return r }(), wantCode: "invalid_guideline_version"},
		{name: "a missing adoption date is rejected",
			when: func() guideline.Revised { r := v2025(); r.AdoptedOn = domain.Date{}; return r }(), wantCode: "missing_date"},
		{name: "a card validity of zero months is rejected",
			when: withRules(func(r *guideline.Rules) { r.CardValidityMonths = 0 }), wantCode: "invalid_rules"},
		{name: "a negative minimum age is rejected",
			when: withRules(func(r *guideline.Rules) { r.MinHolderAge = -1 }), wantCode: "invalid_rules"},
		{name: "a small-cell threshold of zero is rejected",
			when: withRules(func(r *guideline.Rules) { r.SmallCellThreshold = 0 }), wantCode: "invalid_rules"},
		{name: "an empty category list is rejected",
			when: withRules(func(r *guideline.Rules) { r.Categories = nil }), wantCode: "invalid_rules"},
		{name: "a duplicated category is rejected",
			when: withRules(func(r *guideline.Rules) { r.Categories = []string{"culture", "culture"} }), wantCode: "invalid_rules"},
		{name: "age bands that do not increase are rejected",
			when: withRules(func(r *guideline.Rules) { r.AgeBands = []int{16, 25, 25} }), wantCode: "invalid_rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := guideline.Load(tt.given)
			err := g.Revise(tt.when)
			if tt.wantCode != "" {
				if got := domain.CodeOf(err); got != tt.wantCode {
					t.Fatalf("error = %v (code %q), want code %q", err, got, tt.wantCode)
				}
				if len(g.Changes()) != 0 {
					t.Fatalf("a refused revision raised %v", g.Changes())
				}
				return
			}
			if err != nil {
				t.Fatalf("Revise: %v", err)
			}
			if want := []domain.Event{tt.when}; !reflect.DeepEqual(g.Changes(), want) {
				t.Fatalf("changes = %+v, want %+v", g.Changes(), want)
			}
		})
	}
}

func TestRulesAt(t *testing.T) {
	t.Parallel()
	g := guideline.Load([]domain.Event{guideline.National2022(), v2025()})
	tests := []struct {
		name        string
		on          string
		wantVersion guideline.Version
		wantErr     error
	}{
		{name: "no version is in force before the first takes effect", on: "2021-12-31", wantErr: guideline.ErrNoGuidelineInForce},
		{name: "the first version is in force from its effective date", on: "2022-01-01", wantVersion: "2022"},
		{name: "the first version stays in force until the next takes effect", on: "2024-12-31", wantVersion: "2022"},
		{name: "the next version is in force from its effective date", on: "2025-01-01", wantVersion: "2025"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := g.At(d(tt.on))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("At(%s) error = %v, want %v", tt.on, err, tt.wantErr)
				}
				return
			}
			if err != nil || r.Version != tt.wantVersion {
				t.Fatalf("At(%s) = %q, %v; want %q", tt.on, r.Version, err, tt.wantVersion)
			}
			rules, _ := g.RulesAt(d(tt.on))
			if !reflect.DeepEqual(rules, r.Rules) {
				t.Fatalf("RulesAt(%s) = %+v, want %+v", tt.on, rules, r.Rules)
			}
		})
	}
}

func TestVersionLookup(t *testing.T) {
	t.Parallel()
	g := guideline.Load([]domain.Event{guideline.National2022(), v2025()})
	if r, err := g.Version("2025"); err != nil || r.Rules.ChildTicketMaxAge != 15 {
		t.Fatalf("Version(2025) = %+v, %v; want the 2025 rules", r, err)
	}
	if _, err := g.Version("1999"); !errors.Is(err, guideline.ErrUnknownVersion) {
		t.Fatalf("Version(1999) error = %v, want ErrUnknownVersion", err)
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	r := guideline.National2022().Rules
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "a holder turning 16 in the year of issue is old enough", got: r.AgeOldEnough(2008, d("2024-01-02")), want: true},
		{name: "a holder turning 15 in the year of issue is too young", got: r.AgeOldEnough(2009, d("2024-12-31")), want: false},
		{name: "a card issued on the first of a month is valid to the last of the month before a year later", got: r.ValidUntil(d("2024-03-01")), want: d("2025-02-28")},
		{name: "a card issued on a leap day is valid to the day before a year later", got: r.ValidUntil(d("2024-02-29")), want: d("2025-02-27")},
		{name: "a 30-year-old falls in the 25-34 band", got: r.AgeBand(1994, 2024), want: "25-34"},
		{name: "a 70-year-old falls in the open top band", got: r.AgeBand(1954, 2024), want: "65+"},
		{name: "a 15-year-old falls below the first band", got: r.AgeBand(2009, 2024), want: "<16"},
		{name: "the 2022 guideline's categories include sport", got: r.HasCategory("sport"), want: true},
		{name: "an unknown category is not among the rules' categories", got: r.HasCategory("dance"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestRevisedSurvivesEncodeAndDecode(t *testing.T) {
	t.Parallel()
	rec, err := domain.Encode(guideline.National2022(), domain.Metadata{Principal: domain.System})
	if err != nil {
		t.Fatal(err)
	}
	rec.Stream, rec.Version = guideline.Stream, 1
	e, err := domain.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e, guideline.National2022()) {
		t.Fatalf("decoded %+v, want %+v", e, guideline.National2022())
	}
}
