package stats

import (
	"context"
	"slices"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/disclosure"
	"github.com/kaiku/kaiku/domain/locality"
)

// Threshold returns the small-cell threshold of the rules the read model
// counts by at the end of year (DefaultSmallCellThreshold when it knows no
// guideline version), for disclosure.For.
func (q *Queries) Threshold(ctx context.Context, year int) (int, error) {
	rules, ok, err := q.Rules(ctx, domain.NewDate(year, time.December, 31))
	if err != nil || !ok {
		return DefaultSmallCellThreshold, err
	}
	return rules.SmallCellThreshold, nil
}

// BreakdownFor is the breakdown of f as role may see it, the one way every
// answer of breakdowns (the statistics route, exports, reports) reads
// them: exact for national; for every other role suppressed by package
// disclosure under the threshold in force at the end of f.To's year, and
// suppressed is true. The caller has refused what the policy refuses
// before choosing the read model (disclosure.CheckQuery, disclosure.Period).
func (q *Queries) BreakdownFor(ctx context.Context, role domain.Role, f Filter) (rows []Row, suppressed bool, err error) {
	if rows, err = q.Breakdown(ctx, f); err != nil || !disclosure.Applies(role) {
		return rows, false, err
	}
	threshold, err := q.Threshold(ctx, f.To.Year())
	if err != nil {
		return nil, false, err
	}
	p, _ := disclosure.For(role, threshold)
	Suppress(rows, f.GroupBy, p)
	return rows, true, nil
}

// NationalFor is the national table of year as role may see it: exact for
// national, DisclosedNational for every other role, which may read only
// years that have ended before today (disclosure.ErrYearNotEnded).
func (q *Queries) NationalFor(ctx context.Context, role domain.Role, year int, today domain.Date) (PublishedTable, error) {
	if !disclosure.Applies(role) {
		t, err := q.National(ctx, year)
		return Published(t), err
	}
	if err := disclosure.YearEnded(year, today); err != nil {
		return PublishedTable{}, err
	}
	threshold, err := q.Threshold(ctx, year)
	if err != nil {
		return PublishedTable{}, err
	}
	p, _ := disclosure.For(role, threshold)
	return q.DisclosedNational(ctx, year, p)
}

// The columns of a Row as a disclosure.Table; the three use counts are
// linked (totalUses = adultUses + childTickets).
const (
	colRegistered = iota
	colUsed
	colAdult
	colChild
	colTotal
)

var rowLinks = [][]int{{colAdult, colChild, colTotal}}

func rowCells(r *Row) []**int64 {
	return []**int64{&r.CardsRegistered, &r.CardsUsed, &r.AdultUses, &r.ChildTickets, &r.TotalUses}
}

// Suppress hides the small cells of a breakdown by g under p and flags
// the rows it touched (disclosure, rules 4 and 5): a breakdown by locality
// gets primary suppression only, since its rows are the totals the
// national table is protected against (Queries.DisclosedNational); every
// other breakdown gets primary and secondary suppression.
func Suppress(rows []Row, g GroupBy, p disclosure.Policy) {
	t := rowTable(rows)
	var flagged []bool
	if g == ByLocality {
		flagged = p.Primary(t)
	} else {
		flagged = p.Suppress(t)
	}
	for i := range rows {
		for c, cell := range rowCells(&rows[i]) {
			*cell = t.Cells[i][c]
		}
		rows[i].Suppressed = rows[i].Suppressed || flagged[i]
	}
}

func rowTable(rows []Row) disclosure.Table {
	t := disclosure.Table{Cells: make([][]*int64, len(rows)), Linked: rowLinks}
	for i := range rows {
		for _, cell := range rowCells(&rows[i]) {
			t.Cells[i] = append(t.Cells[i], *cell)
		}
	}
	return t
}

// PublishedTable is the national annual table as a role other than
// national may see it: a nil figure is hidden, and Suppressed tells that
// some are. For the national role every figure is set.
type PublishedTable struct {
	Year                   int               `json:"year"`
	CardsRegistered        *int64            `json:"cardsRegistered"`
	CardsUsed              *int64            `json:"cardsUsed"`
	AdultUses              *int64            `json:"adultUses"`
	ChildTickets           *int64            `json:"childTickets"`
	TotalUses              *int64            `json:"totalUses"`
	AdultUsesByCategory    map[string]*int64 `json:"adultUsesByCategory"`
	ChildTicketsByCategory map[string]*int64 `json:"childTicketsByCategory"`
	Municipalities         int64             `json:"municipalities"`
	Suppressed             bool              `json:"suppressed"`
}

// Published returns t with every figure shown (the national role's view).
func Published(t NationalTable) PublishedTable {
	out := PublishedTable{Year: t.Year, CardsRegistered: ptr(t.CardsRegistered), CardsUsed: ptr(t.CardsUsed),
		AdultUses: ptr(t.AdultUses), ChildTickets: ptr(t.ChildTickets), TotalUses: ptr(t.TotalUses),
		AdultUsesByCategory: map[string]*int64{}, ChildTicketsByCategory: map[string]*int64{}, Municipalities: t.Municipalities}
	for c, n := range t.AdultUsesByCategory {
		out.AdultUsesByCategory[c] = ptr(n)
	}
	for c, n := range t.ChildTicketsByCategory {
		out.ChildTicketsByCategory[c] = ptr(n)
	}
	return out
}

// DisclosedNational returns the national table of year as p lets a role
// other than national see it. Its figures are totals over localities,
// which are published one locality at a time, so (disclosure, rule 5):
//   - a top figure is hidden when it is small or when the localities'
//     primarily suppressed figures of it (the breakdown by locality) sum
//     to a small count; the three use figures are hidden together;
//   - a category's figure is hidden when it is small or when the hidden
//     figures of that category in the localities' own category
//     breakdowns (suppressed as Suppress does) sum to a small count; then
//     the categories are protected against their total by secondary
//     suppression, and all of a column's categories are hidden when its
//     total is, since they would add up to it.
//
// It reads the table, the breakdown by locality and one breakdown by
// category per locality, and returns the database's error, wrapped.
func (q *Queries) DisclosedNational(ctx context.Context, year int, p disclosure.Policy) (PublishedTable, error) {
	t, err := q.National(ctx, year)
	if err != nil {
		return PublishedTable{}, err
	}
	out := Published(t)
	y := Filter{From: domain.NewDate(year, time.January, 1), To: domain.NewDate(year, time.December, 31)}

	byLoc := y
	byLoc.GroupBy = ByLocality
	locs, err := q.Breakdown(ctx, byLoc)
	if err != nil {
		return PublishedTable{}, err
	}
	hiddenSum := make([]int64, colTotal+1)
	shown := append([]Row(nil), locs...)
	Suppress(shown, ByLocality, p)
	for i := range locs {
		orig, vis := rowCells(&locs[i]), rowCells(&shown[i])
		for c := range orig {
			if *orig[c] != nil && *vis[c] == nil {
				hiddenSum[c] += **orig[c]
			}
		}
	}
	hide := func(cell **int64, c int) bool { return *cell != nil && p.HideTotal(**cell, hiddenSum[c]) }
	if hide(&out.CardsRegistered, colRegistered) {
		out.CardsRegistered, out.Suppressed = nil, true
	}
	if hide(&out.CardsUsed, colUsed) {
		out.CardsUsed, out.Suppressed = nil, true
	}
	if hide(&out.AdultUses, colAdult) || hide(&out.ChildTickets, colChild) || hide(&out.TotalUses, colTotal) {
		out.AdultUses, out.ChildTickets, out.TotalUses, out.Suppressed = nil, nil, nil, true
	}

	// Categories: hidden sums over the localities' own category breakdowns.
	catHidden := map[string][2]int64{}
	for _, l := range locs {
		f := y
		f.GroupBy, f.Locality = ByCategory, locality.ID(l.Key)
		rows, err := q.Breakdown(ctx, f)
		if err != nil {
			return PublishedTable{}, err
		}
		vis := append([]Row(nil), rows...)
		Suppress(vis, ByCategory, p)
		for i, r := range rows {
			s := catHidden[r.Key]
			if vis[i].AdultUses == nil && r.AdultUses != nil {
				s[0] += *r.AdultUses
			}
			if vis[i].ChildTickets == nil && r.ChildTickets != nil {
				s[1] += *r.ChildTickets
			}
			catHidden[r.Key] = s
		}
	}
	cats := make([]string, 0, len(out.AdultUsesByCategory))
	for c := range out.AdultUsesByCategory {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	tab := disclosure.Table{Cells: make([][]*int64, len(cats)), Hidden: make([][]bool, len(cats))}
	for i, c := range cats {
		a, ch := out.AdultUsesByCategory[c], out.ChildTicketsByCategory[c]
		tab.Cells[i] = []*int64{a, ch}
		tab.Hidden[i] = []bool{
			out.AdultUses == nil || a != nil && p.HideTotal(*a, catHidden[c][0]),
			out.ChildTickets == nil || ch != nil && p.HideTotal(*ch, catHidden[c][1]),
		}
	}
	for i, hid := range p.Suppress(tab) {
		out.Suppressed = out.Suppressed || hid
		out.AdultUsesByCategory[cats[i]], out.ChildTicketsByCategory[cats[i]] = tab.Cells[i][0], tab.Cells[i][1]
	}
	return out, nil
}
