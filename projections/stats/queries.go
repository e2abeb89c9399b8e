package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DefaultCategories are the use categories the national table always
// lists (with zeros) when no guideline version is known.
var DefaultCategories = []string{"culture", "education", "science", "sport"}

// DefaultSmallCellThreshold is used for suppression when the read model
// knows no guideline version at all.
const DefaultSmallCellThreshold = 5

// Queries reads one version of the statistics read model (one schema).
// It is safe for concurrent use when db is (a pool is).
type Queries struct {
	db     DB
	schema string
}

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries { return &Queries{db: db, schema: schema} }

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

func (q *Queries) table(name string) string { return pgx.Identifier{q.schema, name}.Sanitize() }

// NationalTable is the annual table Kaikukeskus publishes (DESIGN.md, "The
// national annual table"). It is never suppressed.
type NationalTable struct {
	Year                   int              `json:"year"`
	CardsRegistered        int64            `json:"cardsRegistered"`
	CardsUsed              int64            `json:"cardsUsed"`
	AdultUses              int64            `json:"adultUses"`
	ChildTickets           int64            `json:"childTickets"`
	TotalUses              int64            `json:"totalUses"`
	AdultUsesByCategory    map[string]int64 `json:"adultUsesByCategory"`
	ChildTicketsByCategory map[string]int64 `json:"childTicketsByCategory"`
	Municipalities         int64            `json:"municipalities"`
}

// nationalTable computes the national table of year, read in one statement (one
// snapshot). The category maps list every category of the rules in force
// at the end of the year (DefaultCategories when none is known) and any
// other category that has uses. It returns the database's error, wrapped.
func (q *Queries) nationalTable(ctx context.Context, year int) (NationalTable, error) {
	from, until := domain.NewDate(year, time.January, 1), domain.NewDate(year+1, time.January, 1)
	yearEnd := domain.NewDate(year, time.December, 31)
	t := NationalTable{Year: year, AdultUsesByCategory: map[string]int64{}, ChildTicketsByCategory: map[string]int64{}}
	rules, ok, err := q.Rules(ctx, yearEnd)
	if err != nil {
		return NationalTable{}, err
	}
	cats := DefaultCategories
	if ok {
		cats = rules.Categories
	}
	for _, c := range cats {
		t.AdultUsesByCategory[c], t.ChildTicketsByCategory[c] = 0, 0
	}
	sql := fmt.Sprintf(`
WITH u AS (
    SELECT category, root, child_tickets FROM %[1]s
    WHERE NOT cancelled AND used_on >= $1 AND used_on < $2
)
SELECT 'category', category, count(*), coalesce(sum(child_tickets), 0) FROM u GROUP BY category
UNION ALL SELECT 'cardsUsed', '', count(DISTINCT root), 0 FROM u
UNION ALL SELECT 'cardsRegistered', '', count(*), 0 FROM %[2]s
    WHERE registered AND issued_on >= $1 AND issued_on < $2
UNION ALL SELECT 'municipalities', '', count(DISTINCT m), 0 FROM %[3]s, unnest(municipalities) AS m
    WHERE joined_on <= $3 AND (left_on IS NULL OR left_on > $3)`,
		q.table("uses"), q.table("cards"), q.table("localities"))
	rows, err := q.db.Query(ctx, sql, from.Time(), until.Time(), yearEnd.Time())
	if err != nil {
		return NationalTable{}, fmt.Errorf("national statistics %d: %w", year, err)
	}
	var (
		kind, cat string
		n, child  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&kind, &cat, &n, &child}, func() error {
		switch kind {
		case "category":
			t.AdultUsesByCategory[cat] = n
			t.ChildTicketsByCategory[cat] = child
			t.AdultUses += n
			t.ChildTickets += child
		case "cardsUsed":
			t.CardsUsed = n
		case "cardsRegistered":
			t.CardsRegistered = n
		case "municipalities":
			t.Municipalities = n
		}
		return nil
	})
	if err != nil {
		return NationalTable{}, fmt.Errorf("national statistics %d: %w", year, err)
	}
	t.TotalUses = t.AdultUses + t.ChildTickets
	return t, nil
}

// GroupBy names what a breakdown groups by.
type GroupBy string

// The groupings a breakdown offers.
const (
	ByLocality   GroupBy = "locality"
	ByIssuer     GroupBy = "issuer"
	ByVenue      GroupBy = "venue"
	ByMonth      GroupBy = "month"
	ByAgeGroup   GroupBy = "ageGroup"
	ByPostalArea GroupBy = "postalArea"
	ByCategory   GroupBy = "category"
)

// GroupBys lists every valid GroupBy.
var GroupBys = []GroupBy{ByLocality, ByIssuer, ByVenue, ByMonth, ByAgeGroup, ByPostalArea, ByCategory}

// ErrBadGroupBy is returned (wrapped in a *domain.Invalid) for an unknown
// grouping.
var ErrBadGroupBy = &domain.Invalid{Code: "invalid_group_by", Field: "groupBy", Message: "groupBy must be one of locality, issuer, venue, month, ageGroup, postalArea, category"}

// ParseGroupBy returns the grouping named s or ErrBadGroupBy.
func ParseGroupBy(s string) (GroupBy, error) {
	if g := GroupBy(s); slices.Contains(GroupBys, g) {
		return g, nil
	}
	return "", ErrBadGroupBy
}

// groupKeys returns the SQL expressions a grouping keys uses and cards
// by; cards is "" when registrations have no such attribute.
func groupKeys(g GroupBy) (uses, cards string, err error) {
	switch g {
	case ByLocality:
		return "venue_locality", "issuer_locality", nil
	case ByIssuer:
		return "issuer", "issuer", nil
	case ByVenue:
		return "venue", "", nil
	case ByMonth:
		return "to_char(used_on, 'YYYY-MM')", "to_char(issued_on, 'YYYY-MM')", nil
	case ByAgeGroup:
		return "age_group", "age_group", nil
	case ByPostalArea:
		return "postal_area", "postal_area", nil
	case ByCategory:
		return "category", "", nil
	}
	return "", "", ErrBadGroupBy
}

// Filter selects a breakdown.
type Filter struct {
	// Locality limits uses to those at the locality's venues and
	// registrations to cards of its issuers; "" means the whole network.
	Locality locality.ID
	// From and To bound the business dates (use date, issue date),
	// both inclusive; a zero date leaves that side open.
	From, To domain.Date
	// GroupBy is one of GroupBys.
	GroupBy GroupBy
}

// Row is one group of a breakdown. A nil count is either suppressed
// (Suppressed is true, set by Suppress) or, for CardsRegistered under
// groupings that registrations lack (venue, category), not applicable.
type Row struct {
	Key             string `json:"key"`
	CardsRegistered *int64 `json:"cardsRegistered"`
	CardsUsed       *int64 `json:"cardsUsed"`
	AdultUses       *int64 `json:"adultUses"`
	ChildTickets    *int64 `json:"childTickets"`
	TotalUses       *int64 `json:"totalUses"`
	Suppressed      bool   `json:"suppressed,omitempty"`
}

var (
	minDate = domain.NewDate(1, time.January, 1)
	maxDate = domain.NewDate(9999, time.December, 31)
)

// Breakdown returns the figures of f grouped by f.GroupBy, ordered by key,
// unsuppressed: answers to roles other than national go through Suppress
// (package disclosure's policy). It returns ErrBadGroupBy for an unknown grouping, a
// *domain.Invalid when To is before From, and the database's error,
// wrapped.
func (q *Queries) Breakdown(ctx context.Context, f Filter) ([]Row, error) {
	ukey, ckey, err := groupKeys(f.GroupBy)
	if err != nil {
		return nil, err
	}
	from, to := f.From, f.To
	if from.IsZero() {
		from = minDate
	}
	if to.IsZero() {
		to = maxDate
	}
	if to.Before(from) {
		return nil, domain.Invalidf("invalid_range", "to", "%s is before from %s", f.To, f.From)
	}
	cardsSQL := "SELECT NULL::text AS k, NULL::bigint AS reg WHERE false"
	if ckey != "" {
		cardsSQL = fmt.Sprintf(`SELECT %s AS k, count(*) AS reg FROM %s
    WHERE registered AND issued_on BETWEEN $1 AND $2 AND ($3 = '' OR issuer_locality = $3)
    GROUP BY 1`, ckey, q.table("cards"))
	}
	sql := fmt.Sprintf(`
WITH u AS (
    SELECT %s AS k, count(DISTINCT root) AS used, count(*) AS adult, sum(child_tickets) AS child
    FROM %s
    WHERE NOT cancelled AND used_on BETWEEN $1 AND $2 AND ($3 = '' OR venue_locality = $3)
    GROUP BY 1
), c AS (%s)
SELECT coalesce(u.k, c.k), c.reg, coalesce(u.used, 0), coalesce(u.adult, 0), coalesce(u.child, 0)
FROM u FULL JOIN c ON u.k = c.k
ORDER BY 1`, ukey, q.table("uses"), cardsSQL)
	rows, err := q.db.Query(ctx, sql, from.Time(), to.Time(), string(f.Locality))
	if err != nil {
		return nil, fmt.Errorf("statistics by %s: %w", f.GroupBy, err)
	}
	var (
		out                []Row
		key                string
		reg                *int64
		used, adult, child int64
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &reg, &used, &adult, &child}, func() error {
		r := Row{Key: key, CardsUsed: ptr(used), AdultUses: ptr(adult), ChildTickets: ptr(child), TotalUses: ptr(adult + child)}
		if ckey != "" {
			r.CardsRegistered = ptr(int64(0))
			if reg != nil {
				r.CardsRegistered = ptr(*reg)
			}
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statistics by %s: %w", f.GroupBy, err)
	}
	if f.GroupBy == ByAgeGroup {
		slices.SortStableFunc(out, func(a, b Row) int { return keyOrder(a.Key, b.Key) })
	}
	return out, nil
}

func ptr(n int64) *int64 { return &n }

// Rules returns the rules the read model counts by on date on: the fixed
// rules of a restated build, else the guideline version in force on that
// date, else the earliest version known. ok is false when the read model
// knows no guideline version. It returns the database's error, wrapped.
func (q *Queries) Rules(ctx context.Context, on domain.Date) (r guideline.Rules, ok bool, err error) {
	sql := fmt.Sprintf(`
SELECT rules FROM (
    SELECT 0 AS rank, rules, NULL::date AS effective_from FROM %s
    UNION ALL
    SELECT 1, rules, effective_from FROM %s WHERE effective_from <= $1
    UNION ALL
    (SELECT 2, rules, effective_from FROM %[2]s ORDER BY effective_from LIMIT 1)
) v ORDER BY rank, effective_from DESC LIMIT 1`, q.table("fixed_rules"), q.table("guideline_versions"))
	var raw []byte
	err = q.db.QueryRow(ctx, sql, on.Time()).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return guideline.Rules{}, false, nil
	}
	if err != nil {
		return guideline.Rules{}, false, fmt.Errorf("statistics rules on %s: %w", on, err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return guideline.Rules{}, false, fmt.Errorf("statistics rules on %s: %w", on, err)
	}
	return r, true, nil
}

// keyOrder sorts age groups by their lower bound ("<16" first, then
// "16-24", …, "65+"); other keys sort as text.
func keyOrder(a, b string) int {
	na, oka := bandStart(a)
	nb, okb := bandStart(b)
	if oka && okb && na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

func bandStart(s string) (int, bool) {
	if strings.HasPrefix(s, "<") {
		return -1, true
	}
	n := 0
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, i > 0 && i < len(s) && (s[i] == '-' || s[i] == '+')
}
