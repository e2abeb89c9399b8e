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
	sql    struct{ card, cardUses, venueUses string }
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
	// The card with its periods, and for the scope rule the venue's facts
	// and both localities', in one statement; absent rows are NULL.
	q.sql.card = r.Replace(`SELECT c.card, c.issuer, c.locality, c.kind, c.issued_on, coalesce(c.replaces, ''), coalesce(c.replaced_by, ''),
		c.replaced_on, c.cancelled_on, coalesce(c.birth_year, 0), c.postal_code, c.minor_children, coalesce(c.life_situation, ''),
		coalesce(c.gender, ''), p.froms, p.untils,
		v.partner, v.locality, v.kind, v.category, v.joined_on, v.left_on,
		vl.scope, vl.joined_on, vl.left_on, cl.scope, cl.joined_on, cl.left_on
		FROM {cards} c
		CROSS JOIN LATERAL (SELECT array_agg(from_on ORDER BY position) AS froms, array_agg(until_on ORDER BY position) AS untils
		         FROM {periods} WHERE card = c.card) p
		LEFT JOIN {partners} v ON v.partner = $2
		LEFT JOIN {localities} vl ON vl.locality = v.locality
		LEFT JOIN {localities} cl ON cl.locality = c.locality
		WHERE c.card = $1`)
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
	c, _, err := q.Check(ctx, id, "")
	return c, err
}

// Check returns card id and what a use of it at venue is checked against
// (card.Standing.UsableAt): the venue's facts (zero when it is not a
// partner, or venue is "") and the venue's and the card's localities'
// (zero when unknown), in one indexed statement. It returns an error
// wrapping domain.ErrNotFound when the card is not registered, or the
// database's error, wrapped.
func (q *Queries) Check(ctx context.Context, id card.ID, venue partner.ID) (Card, card.VenueFacts, error) {
	var (
		c                                      Card
		s                                      = &c.Standing
		issued                                 time.Time
		replacedOn, cancelledOn                *time.Time
		froms, untils                          []time.Time
		loc, issuer, kind, repBy, replaces     string
		vID, vLoc, vKind, vCat, vScope, cScope *string
		vJoined, vLeft, vlJoined, vlLeft       *time.Time
		clJoined, clLeft                       *time.Time
	)
	err := q.db.QueryRow(ctx, q.sql.card, string(id), string(venue)).Scan(&s.Card, &issuer, &loc, &kind, &issued, &replaces, &repBy,
		&replacedOn, &cancelledOn, &c.Holder.BirthYear, &c.Holder.PostalCode, &c.Holder.MinorChildren,
		&c.Holder.LifeSituation, &c.Holder.Gender, &froms, &untils,
		&vID, &vLoc, &vKind, &vCat, &vJoined, &vLeft, &vScope, &vlJoined, &vlLeft, &cScope, &clJoined, &clLeft)
	if errors.Is(err, pgx.ErrNoRows) {
		return Card{}, card.VenueFacts{}, fmt.Errorf("card %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return Card{}, card.VenueFacts{}, fmt.Errorf("read card from %s: %w", q.schema, err)
	}
	c.Issuer, c.Kind, c.Replaces = partner.ID(issuer), card.Kind(kind), card.ID(replaces)
	s.Locality, s.IssuedOn, s.ReplacedBy = locality.ID(loc), domain.DateOf(issued), card.ID(repBy)
	s.ReplacedOn, s.CancelledOn = dateOf(replacedOn), dateOf(cancelledOn)
	s.MinorChildren = c.Holder.MinorChildren
	for i := range froms {
		s.Periods = append(s.Periods, card.Period{From: domain.DateOf(froms[i]), Until: domain.DateOf(untils[i])})
	}
	var f card.VenueFacts
	if vID != nil {
		f.Venue = partner.Facts{ID: partner.ID(*vID), Locality: locality.ID(*vLoc), Kind: partner.Kind(*vKind),
			Category: partner.Category(*vCat), JoinedOn: dateOf(vJoined), LeftOn: dateOf(vLeft)}
		if vScope != nil {
			f.VenueLocality = locality.Facts{ID: f.Venue.Locality, Scope: locality.Scope(*vScope), JoinedOn: dateOf(vlJoined), LeftOn: dateOf(vlLeft)}
		}
	}
	if cScope != nil {
		f.CardLocality = locality.Facts{ID: s.Locality, Scope: locality.Scope(*cScope), JoinedOn: dateOf(clJoined), LeftOn: dateOf(clLeft)}
	}
	return c, f, nil
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
