package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/disclosure"
	"github.com/kaiku/kaiku/domain/locality"
)

// CrossUseFilter selects the cross-use figures: uses of cards at venues
// outside the card's home locality (only national-scope cards can be used
// there), in years From..To (inclusive; zero leaves a side open), with
// Locality ("" for all) as either the home or the venue locality.
type CrossUseFilter struct {
	Locality locality.ID
	From, To int
	// Suppress hides small cells (every role but national), under the
	// same rule as Breakdown's, with the threshold in force at each
	// year's end.
	Suppress bool
}

// CrossUseRow is one home locality × venue locality × year cell. Row.Key
// is "year/home/venue"; CardsRegistered does not apply and is nil.
type CrossUseRow struct {
	Year          int         `json:"year"`
	HomeLocality  locality.ID `json:"homeLocality"`
	VenueLocality locality.ID `json:"venueLocality"`
	Row
}

// CrossUse returns the uses of cards outside their home locality by year,
// home locality and venue locality, in that order: distinct cards used,
// adult uses, children's tickets and their total. Cancelled uses count
// nowhere. It returns the database's error, wrapped.
func (q *Queries) CrossUse(ctx context.Context, f CrossUseFilter) ([]CrossUseRow, error) {
	from, to := minDate, maxDate
	if f.From != 0 {
		from = domain.NewDate(f.From, time.January, 1)
	}
	if f.To != 0 {
		to = domain.NewDate(f.To, time.December, 31)
	}
	sql := fmt.Sprintf(`
SELECT extract(year FROM used_on)::int, issuer_locality, venue_locality,
       count(DISTINCT root), count(*), coalesce(sum(child_tickets), 0)
FROM %s
WHERE NOT cancelled AND venue_locality <> issuer_locality AND used_on BETWEEN $1 AND $2
  AND ($3 = '' OR issuer_locality = $3 OR venue_locality = $3)
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, q.table("uses"))
	rows, err := q.db.Query(ctx, sql, from.Time(), to.Time(), string(f.Locality))
	if err != nil {
		return nil, fmt.Errorf("cross-use statistics: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CrossUseRow, error) {
		var r CrossUseRow
		var used, adult, child int64
		err := row.Scan(&r.Year, &r.HomeLocality, &r.VenueLocality, &used, &adult, &child)
		r.Key = fmt.Sprintf("%d/%s/%s", r.Year, r.HomeLocality, r.VenueLocality)
		r.CardsUsed, r.AdultUses, r.ChildTickets, r.TotalUses = ptr(used), ptr(adult), ptr(child), ptr(adult+child)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("cross-use statistics: %w", err)
	}
	if f.Suppress {
		// Each year is one table of home × venue locality under the one
		// disclosure policy: primary and secondary suppression.
		byYear := map[int][]int{}
		for i := range out {
			byYear[out[i].Year] = append(byYear[out[i].Year], i)
		}
		for year, idx := range byYear {
			threshold, err := q.Threshold(ctx, year)
			if err != nil {
				return nil, err
			}
			p, _ := disclosure.For(domain.RoleCoordinator, threshold)
			rows := make([]Row, len(idx))
			for j, i := range idx {
				rows[j] = out[i].Row
			}
			Suppress(rows, ByVenue, p)
			for j, i := range idx {
				out[i].Row = rows[j]
			}
		}
	}
	return out, nil
}

// smallCellThreshold is the small-cell threshold of the rules the read
// model counts by on on (DefaultSmallCellThreshold when it knows none).
func (q *Queries) smallCellThreshold(ctx context.Context, on domain.Date) (int64, error) {
	rules, ok, err := q.Rules(ctx, on)
	if err != nil || !ok {
		return DefaultSmallCellThreshold, err
	}
	return int64(rules.SmallCellThreshold), nil
}

// Years returns the first and the last year with a registration or a use;
// ok is false when there is neither. It returns the database's error,
// wrapped.
func (q *Queries) Years(ctx context.Context) (first, last int, ok bool, err error) {
	sql := fmt.Sprintf(`SELECT min(y)::int, max(y)::int FROM (
    SELECT extract(year FROM min(issued_on)) AS y FROM %[1]s UNION ALL SELECT extract(year FROM max(issued_on)) FROM %[1]s
    UNION ALL SELECT extract(year FROM min(used_on)) FROM %[2]s UNION ALL SELECT extract(year FROM max(used_on)) FROM %[2]s) t`,
		q.table("cards"), q.table("uses"))
	var lo, hi *int
	if err := q.db.QueryRow(ctx, sql).Scan(&lo, &hi); err != nil {
		return 0, 0, false, fmt.Errorf("statistics years: %w", err)
	}
	if lo == nil || hi == nil {
		return 0, 0, false, nil
	}
	return *lo, *hi, true, nil
}
