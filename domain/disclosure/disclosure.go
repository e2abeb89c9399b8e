package disclosure

import (
	"fmt"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Refusals of the policy, one code each.
var (
	// ErrPeriod: a non-national answer must cover one whole calendar year.
	ErrPeriod = &domain.Invalid{Code: "period_not_calendar_year", Field: "from",
		Message: "figures below the national level are published for whole calendar years only: from=YYYY-01-01 and to=YYYY-12-31 of one year"}
	// ErrYearNotEnded: a non-national answer covers a year that has ended.
	ErrYearNotEnded = &domain.Invalid{Code: "year_not_ended", Field: "to",
		Message: "figures below the national level are published once the year has ended"}
)

// Policy is the small-cell policy for one answer: the threshold of the
// guideline in force at the end of the period the answer covers.
type Policy struct {
	// Threshold is the smallest count shown (guideline.Rules.SmallCellThreshold).
	Threshold int64
}

// For returns the policy for role under threshold, and false for the
// national role, which reads every figure unsuppressed. A threshold below
// 1 is taken as 1 (nothing to hide but what is negative, which counts
// never are).
func For(role domain.Role, threshold int) (Policy, bool) {
	if role == domain.RoleNational {
		return Policy{}, false
	}
	return Policy{Threshold: max(int64(threshold), 1)}, true
}

// Applies reports whether answers to role are suppressed (every role but
// national).
func Applies(role domain.Role) bool { return role != domain.RoleNational }

// Period checks that from and to (both inclusive) are one whole calendar
// year that ended before today, and returns that year. A UTC today
// closes a year two hours after Helsinki does, never before. It returns ErrPeriod (with the
// field at fault) or ErrYearNotEnded. Rule 1 of the package comment.
func Period(from, to domain.Date, today domain.Date) (int, error) {
	switch {
	case from.IsZero() || from.Month() != time.January || from.Day() != 1:
		return 0, ErrPeriod
	case to.IsZero() || to.Month() != time.December || to.Day() != 31 || to.Year() != from.Year():
		return 0, &domain.Invalid{Code: ErrPeriod.Code, Field: "to", Message: ErrPeriod.Message}
	}
	return from.Year(), YearEnded(from.Year(), today)
}

// YearEnded returns nil when year ended before today, else
// ErrYearNotEnded.
func YearEnded(year int, today domain.Date) error {
	if year >= today.Year() {
		return &domain.Invalid{Code: ErrYearNotEnded.Code, Field: ErrYearNotEnded.Field,
			Message: fmt.Sprintf("%s; %d has not ended", ErrYearNotEnded.Message, year)}
	}
	return nil
}

// Query is what a statistics request asks besides its period.
type Query struct {
	AsOf         bool // figures as of an earlier record time
	Rules        bool // figures restated under a guideline version
	WholeNetwork bool // no locality named
	ByLocality   bool // grouped by locality
}

// CheckQuery applies rules 2 and 3 of the package comment to a non-national
// request: asOf and rules are refused, and a whole-network breakdown by
// anything but locality. Each refusal is a *domain.Forbidden.
func CheckQuery(q Query) error {
	switch {
	case q.AsOf:
		return &domain.Forbidden{Message: "figures as of an earlier record time are the national role's: two of them differ by the corrections between them"}
	case q.Rules:
		return &domain.Forbidden{Message: "figures restated under another guideline version are the national role's: two versions differ by single age bands"}
	case q.WholeNetwork && !q.ByLocality:
		return &domain.Forbidden{Message: "a breakdown across the whole network is offered by locality only; name a locality for other groupings"}
	}
	return nil
}

// small reports whether n is a count that must not be shown.
func (p Policy) small(n int64) bool { return n > 0 && n < p.Threshold }

// Table is a breakdown to protect: Cells[row][column] are counts (nil
// where a figure does not apply to the row); Linked lists the sets of
// columns that are derived from each other and so are hidden together in
// a row. Suppress sets the hidden cells to nil.
type Table struct {
	Cells  [][]*int64
	Linked [][]int
	// Hidden, when set, marks cells already hidden by another rule (a
	// total protected by HideTotal): they are hidden with their linked
	// cells and count towards their column's hidden sum.
	Hidden [][]bool
}

// groups returns the column groups: each linked set, then every column in
// no set alone.
func (t Table) groups() [][]int {
	cols := 0
	for _, r := range t.Cells {
		cols = max(cols, len(r))
	}
	in := make([]bool, cols)
	var gs [][]int
	for _, l := range t.Linked {
		var g []int
		for _, c := range l {
			if c < cols && !in[c] {
				in[c] = true
				g = append(g, c)
			}
		}
		if len(g) > 0 {
			gs = append(gs, g)
		}
	}
	for c := range cols {
		if !in[c] {
			gs = append(gs, []int{c})
		}
	}
	return gs
}

// Suppress hides t's cells by rules 4 of the package comment (primary,
// then secondary suppression) and returns, per row, whether any of its
// cells was hidden. Hiding is deterministic: the same table gives the same
// cells hidden, whichever request asked.
func (p Policy) Suppress(t Table) []bool {
	return p.suppress(t, true)
}

// Primary hides only t's small cells (and the cells linked to them),
// without secondary suppression. It is for tables whose rows are totals
// of localities: their sum is protected by HideTotal instead, so that a
// locality's total is hidden in every answer or in none.
func (p Policy) Primary(t Table) []bool {
	return p.suppress(t, false)
}

func (p Policy) suppress(t Table, secondary bool) []bool {
	rows := len(t.Cells)
	flagged := make([]bool, rows)
	val := func(r, c int) (int64, bool) {
		if c >= len(t.Cells[r]) || t.Cells[r][c] == nil {
			return 0, false
		}
		return *t.Cells[r][c], true
	}
	for _, g := range t.groups() {
		hidden := make([]bool, rows)
		for r := range rows {
			for _, c := range g {
				if v, ok := val(r, c); ok && p.small(v) || t.preHidden(r, c) {
					hidden[r] = true
				}
			}
		}
		for secondary {
			short := p.shortColumns(g, hidden, val)
			if len(short) == 0 {
				break
			}
			next := -1
			var best int64
			for r := range rows {
				if hidden[r] {
					continue
				}
				var helps bool
				var sum int64
				for _, c := range g {
					v, _ := val(r, c)
					sum += v
					helps = helps || (short[c] && v > 0)
				}
				if helps && (next < 0 || sum < best) {
					next, best = r, sum
				}
			}
			if next < 0 {
				for r := range rows {
					hidden[r] = true
				}
				break
			}
			hidden[next] = true
		}
		for r := range rows {
			if !hidden[r] {
				continue
			}
			for _, c := range g {
				if c < len(t.Cells[r]) && t.Cells[r][c] != nil {
					t.Cells[r][c] = nil
					flagged[r] = true
				}
			}
		}
	}
	return flagged
}

func (t Table) preHidden(r, c int) bool {
	return r < len(t.Hidden) && c < len(t.Hidden[r]) && t.Hidden[r][c]
}

// shortColumns returns the columns of g whose hidden cells sum to a small
// count (recoverable from the column's total as a small number).
func (p Policy) shortColumns(g []int, hidden []bool, val func(r, c int) (int64, bool)) map[int]bool {
	var short map[int]bool
	for _, c := range g {
		var sum int64
		for r, h := range hidden {
			if h {
				v, _ := val(r, c)
				sum += v
			}
		}
		if p.small(sum) {
			if short == nil {
				short = map[int]bool{}
			}
			short[c] = true
		}
	}
	return short
}

// HideTotal reports whether a total must be hidden (rule 5): when it is
// small itself, or when the hidden parts it sums (the localities' hidden
// cells of the same figure) hold a small count together, which the total
// minus the shown parts would reveal.
func (p Policy) HideTotal(total, hiddenParts int64) bool {
	return p.small(total) || p.small(hiddenParts)
}
