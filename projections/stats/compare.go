package stats

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Diff is one figure that differs between the live read model and a
// restated build.
type Diff struct {
	Year int `json:"year"`
	// Dimension is "" for a national figure, "category" for the national
	// table's per-category figures, or "ageGroup".
	Dimension string `json:"dimension,omitempty"`
	// Group is the category or age group ("" for national figures).
	Group string `json:"group,omitempty"`
	// Measure is the figure's name as the national table spells it
	// ("cardsRegistered", "adultUses", "childTickets", …).
	Measure  string `json:"measure"`
	Live     int64  `json:"live"`
	Restated int64  `json:"restated"`
}

// Change is Restated − Live.
func (d Diff) Change() int64 { return d.Restated - d.Live }

// Compare lists, for each year, every figure that differs between live
// and restated: the national table, its per-category figures and the
// age-group breakdown (unsuppressed), in a stable order (year, dimension,
// group, measure). Groups present in only one side compare against zero.
// An empty result means the restatement changes nothing. It returns the
// first query error, wrapped with the year.
func Compare(ctx context.Context, live, restated *Queries, years []int) ([]Diff, error) {
	var out []Diff
	for _, y := range years {
		a, err := figures(ctx, live, y)
		if err != nil {
			return nil, fmt.Errorf("compare %d: live: %w", y, err)
		}
		b, err := figures(ctx, restated, y)
		if err != nil {
			return nil, fmt.Errorf("compare %d: restated: %w", y, err)
		}
		keys := map[figureKey]bool{}
		for k := range a {
			keys[k] = true
		}
		for k := range b {
			keys[k] = true
		}
		var diffs []Diff
		for k := range keys {
			if a[k] != b[k] {
				diffs = append(diffs, Diff{Year: y, Dimension: k.dimension, Group: k.group, Measure: k.measure, Live: a[k], Restated: b[k]})
			}
		}
		slices.SortFunc(diffs, func(x, y Diff) int {
			if c := compareStrings(x.Dimension, y.Dimension); c != 0 {
				return c
			}
			if c := keyOrder(x.Group, y.Group); c != 0 {
				return c
			}
			return compareStrings(x.Measure, y.Measure)
		})
		out = append(out, diffs...)
	}
	return out, nil
}

type figureKey struct{ dimension, group, measure string }

func figures(ctx context.Context, q *Queries, year int) (map[figureKey]int64, error) {
	t, err := q.National(ctx, year)
	if err != nil {
		return nil, err
	}
	f := map[figureKey]int64{
		{"", "", "cardsRegistered"}: t.CardsRegistered,
		{"", "", "cardsUsed"}:       t.CardsUsed,
		{"", "", "adultUses"}:       t.AdultUses,
		{"", "", "childTickets"}:    t.ChildTickets,
		{"", "", "totalUses"}:       t.TotalUses,
		{"", "", "municipalities"}:  t.Municipalities,
	}
	for c, n := range t.AdultUsesByCategory {
		f[figureKey{"category", c, "adultUses"}] = n
	}
	for c, n := range t.ChildTicketsByCategory {
		f[figureKey{"category", c, "childTickets"}] = n
	}
	rows, err := q.Breakdown(ctx, Filter{
		From:    domain.NewDate(year, time.January, 1),
		To:      domain.NewDate(year, time.December, 31),
		GroupBy: ByAgeGroup,
	})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		for m, p := range map[string]*int64{
			"cardsRegistered": r.CardsRegistered, "cardsUsed": r.CardsUsed,
			"adultUses": r.AdultUses, "childTickets": r.ChildTickets, "totalUses": r.TotalUses,
		} {
			if p != nil && *p != 0 {
				f[figureKey{"ageGroup", r.Key, m}] = *p
			}
		}
	}
	return f, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
