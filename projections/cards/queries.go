package cards

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Queries reads one version (schema) of the cards read model. It is safe
// for concurrent use when db is (a pool is).
type Queries struct {
	db     DB
	schema string
	sql    struct{ card, venue, cardUses, venueUses string }
}

// DefaultLimit and MaxLimit bound a page of a venue's uses.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

const useCols = `card, use_id, position, venue, venue_locality, used_on, category, kind, child_tickets, assistant, cancelled`

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	r := names(schema)
	q := &Queries{db: db, schema: schema}
	q.sql.card = r.Replace(`SELECT c.card, c.issuer, c.locality, c.kind, c.issued_on, coalesce(c.replaces, ''), coalesce(c.replaced_by, ''),
		c.replaced_on, c.cancelled_on, coalesce(c.birth_year, 0), c.postal_code, c.minor_children, coalesce(c.life_situation, ''),
		coalesce(c.gender, ''), p.froms, p.untils
		FROM {cards} c,
		LATERAL (SELECT array_agg(from_on ORDER BY position) AS froms, array_agg(until_on ORDER BY position) AS untils
		         FROM {periods} WHERE card = c.card) p
		WHERE c.card = $1`)
	// The venue and, for the scope rule, the venue's and the card's
	// localities, in one statement; absent rows are NULL.
	q.sql.venue = r.Replace(`SELECT p.partner, p.locality, p.kind, p.category, p.joined_on, p.left_on,
		vl.scope, vl.joined_on, vl.left_on, cl.scope, cl.joined_on, cl.left_on
		FROM (SELECT 1) one
		LEFT JOIN {partners} p ON p.partner = $1
		LEFT JOIN {localities} vl ON vl.locality = p.locality
		LEFT JOIN {localities} cl ON cl.locality = $2`)
	q.sql.cardUses = r.Replace(`SELECT ` + useCols + ` FROM {uses} WHERE card = $1 AND used_on BETWEEN $2 AND $3 ORDER BY used_on, position`)
	q.sql.venueUses = r.Replace(`SELECT ` + useCols + ` FROM {uses} WHERE venue = $1 AND position > $2
		AND used_on BETWEEN $3 AND $4 ORDER BY position LIMIT $5`)
	return q
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// Card is a registered card as the register knows it now.
type Card struct {
	// Standing decides its status and whether it can be used.
	Standing card.Standing
	Issuer   partner.ID
	Kind     card.Kind
	Replaces card.ID
	Holder   card.Holder
}

// Card returns card id, or an error wrapping domain.ErrNotFound when it is
// not registered, or the database's error, wrapped. It is one indexed
// statement.
func (q *Queries) Card(ctx context.Context, id card.ID) (Card, error) {
	var (
		c                        Card
		s                        = &c.Standing
		issued                   time.Time
		replacedOn, cancelledOn  *time.Time
		froms, untils            []time.Time
		loc, issuer, kind, repBy string
		replaces                 string
	)
	err := q.db.QueryRow(ctx, q.sql.card, string(id)).Scan(&s.Card, &issuer, &loc, &kind, &issued, &replaces, &repBy,
		&replacedOn, &cancelledOn, &c.Holder.BirthYear, &c.Holder.PostalCode, &c.Holder.MinorChildren,
		&c.Holder.LifeSituation, &c.Holder.Gender, &froms, &untils)
	if errors.Is(err, pgx.ErrNoRows) {
		return Card{}, fmt.Errorf("card %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return Card{}, fmt.Errorf("read card from %s: %w", q.schema, err)
	}
	c.Issuer, c.Kind, c.Replaces = partner.ID(issuer), card.Kind(kind), card.ID(replaces)
	s.Locality, s.IssuedOn, s.ReplacedBy = locality.ID(loc), domain.DateOf(issued), card.ID(repBy)
	s.ReplacedOn, s.CancelledOn = dateOf(replacedOn), dateOf(cancelledOn)
	s.MinorChildren = c.Holder.MinorChildren
	for i := range froms {
		s.Periods = append(s.Periods, card.Period{From: domain.DateOf(froms[i]), Until: domain.DateOf(untils[i])})
	}
	return c, nil
}

// VenueFacts returns what a use at venue of a card of cardLocality is
// checked against (card.Standing.UsableAt): the venue's facts (zero when
// it is not a partner) and both localities' (zero when unknown). It is one
// statement; it returns the database's error, wrapped.
func (q *Queries) VenueFacts(ctx context.Context, venue partner.ID, cardLocality locality.ID) (card.VenueFacts, error) {
	var (
		id, loc, kind, cat             *string
		joined, left                   *time.Time
		vScope, cScope                 *string
		vJoined, vLeft, cJoined, cLeft *time.Time
	)
	err := q.db.QueryRow(ctx, q.sql.venue, string(venue), string(cardLocality)).Scan(&id, &loc, &kind, &cat, &joined, &left,
		&vScope, &vJoined, &vLeft, &cScope, &cJoined, &cLeft)
	if err != nil {
		return card.VenueFacts{}, fmt.Errorf("read venue facts from %s: %w", q.schema, err)
	}
	var f card.VenueFacts
	if id != nil {
		f.Venue = partner.Facts{ID: partner.ID(*id), Locality: locality.ID(*loc), Kind: partner.Kind(*kind),
			Category: partner.Category(*cat), JoinedOn: dateOf(joined), LeftOn: dateOf(left)}
		if vScope != nil {
			f.VenueLocality = locality.Facts{ID: f.Venue.Locality, Scope: locality.Scope(*vScope), JoinedOn: dateOf(vJoined), LeftOn: dateOf(vLeft)}
		}
	}
	if cScope != nil {
		f.CardLocality = locality.Facts{ID: cardLocality, Scope: locality.Scope(*cScope), JoinedOn: dateOf(cJoined), LeftOn: dateOf(cLeft)}
	}
	return f, nil
}

// Use is one use recorded on a card. Position is the use's place in the
// log; a venue's list is paged by it.
type Use struct {
	ID            card.UseID      `json:"id"`
	Card          card.ID         `json:"card"`
	Venue         partner.ID      `json:"venue"`
	VenueLocality locality.ID     `json:"venueLocality"`
	UsedOn        domain.Date     `json:"usedOn"`
	Category      string          `json:"category"`
	Kind          card.UseKind    `json:"kind"`
	ChildTickets  int             `json:"childTickets"`
	Assistant     bool            `json:"assistant"`
	Cancelled     bool            `json:"cancelled"`
	Position      domain.Position `json:"position"`
}

// CardUses returns the uses of card id dated from from to to (inclusive),
// cancelled ones marked, by date and position. It returns the database's
// error, wrapped.
func (q *Queries) CardUses(ctx context.Context, id card.ID, from, to domain.Date) ([]Use, error) {
	return q.uses(ctx, q.sql.cardUses, string(id), from.Time(), to.Time())
}

// UseFilter selects a venue's uses: those recorded at Venue with a
// position above After and a use date within From..To (inclusive; a zero
// date leaves that side open), at most Limit (DefaultLimit when <= 0, at
// most MaxLimit).
type UseFilter struct {
	Venue    partner.ID
	From, To domain.Date
	After    domain.Position
	Limit    int
}

// UsePage is one page of a venue's uses in position order. Next is the
// position to ask after for the following page, zero on the last.
type UsePage struct {
	Uses []Use
	Next domain.Position
}

var (
	minDate = domain.NewDate(1, time.January, 1)
	maxDate = domain.NewDate(9999, time.December, 31)
)

// VenueUses returns one page of the uses f selects, in position order, in
// one indexed statement. It returns a *domain.Invalid when To is before
// From, or the database's error, wrapped.
func (q *Queries) VenueUses(ctx context.Context, f UseFilter) (UsePage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	from, to := f.From, f.To
	if from.IsZero() {
		from = minDate
	}
	if to.IsZero() {
		to = maxDate
	}
	if to.Before(from) {
		return UsePage{}, domain.Invalidf("invalid_range", "to", "%s is before from %s", f.To, f.From)
	}
	us, err := q.uses(ctx, q.sql.venueUses, string(f.Venue), int64(f.After), from.Time(), to.Time(), limit)
	if err != nil {
		return UsePage{}, err
	}
	p := UsePage{Uses: us}
	if len(us) == limit {
		p.Next = us[len(us)-1].Position
	}
	return p, nil
}

func (q *Queries) uses(ctx context.Context, sql string, args ...any) ([]Use, error) {
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read uses from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Use, error) {
		var u Use
		var on time.Time
		err := row.Scan(&u.Card, &u.ID, &u.Position, &u.Venue, &u.VenueLocality, &on, &u.Category, &u.Kind,
			&u.ChildTickets, &u.Assistant, &u.Cancelled)
		u.UsedOn = domain.DateOf(on)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("read uses from %s: %w", q.schema, err)
	}
	return out, nil
}

// dateOf reads a nullable date column; NULL is the zero date.
func dateOf(t *time.Time) domain.Date {
	if t == nil {
		return domain.Date{}
	}
	return domain.DateOf(*t)
}
