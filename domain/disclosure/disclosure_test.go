package disclosure_test

import (
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/disclosure"
)

func n(v int64) *int64 { return &v }

// cells builds a table from rows of values; -1 is "not applicable" (nil).
func cells(rows ...[]int64) [][]*int64 {
	out := make([][]*int64, len(rows))
	for i, r := range rows {
		for _, v := range r {
			if v < 0 {
				out[i] = append(out[i], nil)
			} else {
				out[i] = append(out[i], n(v))
			}
		}
	}
	return out
}

// shown renders a table back: hidden and not-applicable cells are -1.
func shown(t [][]*int64) [][]int64 {
	out := make([][]int64, len(t))
	for i, r := range t {
		for _, p := range r {
			if p == nil {
				out[i] = append(out[i], -1)
			} else {
				out[i] = append(out[i], *p)
			}
		}
	}
	return out
}

func TestSuppress(t *testing.T) {
	t.Parallel()
	p, _ := disclosure.For(domain.RoleCoordinator, 5)
	tests := []struct {
		name    string
		given   [][]int64
		linked  [][]int
		primary bool
		hidden  [][]bool
		want    [][]int64
	}{
		{name: "a large cell hidden by another rule needs no partner: what the total gives back is not small",
			given: [][]int64{{40}, {30}, {8}}, hidden: [][]bool{{true}}, want: [][]int64{{-1}, {30}, {8}}},
		{name: "a cell hidden by another rule and a small one need no third when together they reach the threshold",
			given: [][]int64{{40}, {30}, {2}}, hidden: [][]bool{{true}}, want: [][]int64{{-1}, {30}, {-1}}},
		{name: "a table without small cells is shown whole",
			given: [][]int64{{10, 7}, {5, 0}}, want: [][]int64{{10, 7}, {5, 0}}},
		{name: "zeros are shown",
			given: [][]int64{{0}, {0}, {12}}, want: [][]int64{{0}, {0}, {12}}},
		{name: "a single small cell takes the smallest other cell of its column with it, so the total cannot give it back",
			given: [][]int64{{3}, {40}, {9}, {20}}, want: [][]int64{{-1}, {40}, {-1}, {20}}},
		{name: "two small cells that together reach the threshold need no third",
			given: [][]int64{{3}, {2}, {40}}, want: [][]int64{{-1}, {-1}, {40}}},
		{name: "two small cells below the threshold together take a third",
			given: [][]int64{{1}, {2}, {40}, {30}}, want: [][]int64{{-1}, {-1}, {40}, {-1}}},
		{name: "a column whose small cells cannot be covered is hidden whole",
			given: [][]int64{{1}, {0}, {0}}, want: [][]int64{{-1}, {-1}, {-1}}},
		{name: "linked columns are hidden together in a row and protected together",
			given:  [][]int64{{9, 2, 11}, {30, 0, 30}, {20, 6, 26}},
			linked: [][]int{{0, 1, 2}},
			want:   [][]int64{{-1, -1, -1}, {30, 0, 30}, {-1, -1, -1}}},
		{name: "a secondary cell is chosen where it covers the short column",
			given:  [][]int64{{9, 2}, {5, 0}, {20, 6}},
			linked: [][]int{{0, 1}},
			want:   [][]int64{{-1, -1}, {5, 0}, {-1, -1}}},
		{name: "cells that do not apply stay nil and are never counted",
			given: [][]int64{{-1, 3}, {-1, 50}, {-1, 7}}, want: [][]int64{{-1, -1}, {-1, 50}, {-1, -1}}},
		{name: "primary suppression alone hides only the small cells",
			given: [][]int64{{3}, {40}, {9}}, primary: true, want: [][]int64{{-1}, {40}, {9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tab := disclosure.Table{Cells: cells(tt.given...), Linked: tt.linked, Hidden: tt.hidden}
			if tt.primary {
				p.Primary(tab)
			} else {
				p.Suppress(tab)
			}
			if got := shown(tab.Cells); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("shown %v, want %v", got, tt.want)
			}
			if !tt.primary {
				assertNoSmallRecoverable(t, p.Threshold, cells(tt.given...), tab.Cells)
			}
		})
	}
}

// assertNoSmallRecoverable checks the guarantee itself rather than the
// chosen cells: per column, the total minus the shown cells (what an
// attacker recovers) is zero or at least the threshold.
func assertNoSmallRecoverable(t *testing.T, threshold int64, orig, got [][]*int64) {
	t.Helper()
	for c := range orig[0] {
		var total, visible int64
		for r := range orig {
			if orig[r][c] != nil {
				total += *orig[r][c]
			}
			if got[r][c] != nil {
				visible += *got[r][c]
			}
		}
		if rec := total - visible; total >= threshold && rec > 0 && rec < threshold {
			t.Errorf("column %d: total minus the shown cells reveals %d", c, rec)
		}
		for r := range orig {
			if got[r][c] != nil && *got[r][c] > 0 && *got[r][c] < threshold {
				t.Errorf("cell %d,%d shows the small count %d", r, c, *got[r][c])
			}
		}
	}
}

func TestNationalIsNotSuppressed(t *testing.T) {
	t.Parallel()
	if _, ok := disclosure.For(domain.RoleNational, 5); ok {
		t.Fatal("the national role reads figures unsuppressed")
	}
	for _, r := range []domain.Role{domain.RoleCoordinator, domain.RoleIssuer, domain.RoleVenue, domain.RoleAuditor} {
		if p, ok := disclosure.For(r, 5); !ok || p.Threshold != 5 {
			t.Errorf("role %s: policy %+v, %v", r, p, ok)
		}
	}
}

func TestPeriod(t *testing.T) {
	t.Parallel()
	d := domain.MustDate
	today := d("2026-09-27")
	tests := []struct {
		name, from, to string
		want           string
	}{
		{name: "a whole year that has ended is published", from: "2025-01-01", to: "2025-12-31"},
		{name: "the running year is not", from: "2026-01-01", to: "2026-12-31", want: "year_not_ended"},
		{name: "a range ending on a day is not a period", from: "2025-01-01", to: "2025-09-26", want: "period_not_calendar_year"},
		{name: "a month is a row of a year, not a period", from: "2025-03-01", to: "2025-03-31", want: "period_not_calendar_year"},
		{name: "two years are not one period", from: "2024-01-01", to: "2025-12-31", want: "period_not_calendar_year"},
		{name: "an open range is not a period", want: "period_not_calendar_year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var from, to domain.Date
			if tt.from != "" {
				from, to = d(tt.from), d(tt.to)
			}
			_, err := disclosure.Period(from, to, today)
			if got := domain.CodeOf(err); got != tt.want {
				t.Fatalf("code %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestCheckQuery(t *testing.T) {
	t.Parallel()
	for _, q := range []disclosure.Query{{AsOf: true}, {Rules: true}, {WholeNetwork: true}} {
		var f *domain.Forbidden
		if err := disclosure.CheckQuery(q); !errorsAs(err, &f) {
			t.Errorf("%+v: %v, want forbidden", q, err)
		}
	}
	for _, q := range []disclosure.Query{{}, {WholeNetwork: true, ByLocality: true}} {
		if err := disclosure.CheckQuery(q); err != nil {
			t.Errorf("%+v: %v", q, err)
		}
	}
}

func errorsAs(err error, f **domain.Forbidden) bool {
	ff, ok := err.(*domain.Forbidden)
	*f = ff
	return ok
}

func TestHideTotal(t *testing.T) {
	t.Parallel()
	p, _ := disclosure.For(domain.RoleAuditor, 5)
	for _, c := range []struct {
		total, hidden int64
		want          bool
	}{{100, 0, false}, {100, 3, true}, {100, 7, false}, {4, 0, true}, {0, 0, false}} {
		if got := p.HideTotal(c.total, c.hidden); got != c.want {
			t.Errorf("HideTotal(%d, %d) = %v, want %v", c.total, c.hidden, got, c.want)
		}
	}
}
