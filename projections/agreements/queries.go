package agreements

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Queries reads one version (schema) of the agreements read model. It is
// safe for concurrent use when db is (a pool is).
type Queries struct {
	db                  DB
	schema              string
	list, inForce, byID string
	entries             string
}

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	r := names(schema)
	const cols = `SELECT agreement, locality, partner, kind, template_version, valid_from, valid_until, terminated_on FROM {agreements} `
	return &Queries{
		db: db, schema: schema,
		list: r.Replace(cols + `WHERE $1 = '' OR locality = $1 ORDER BY locality, valid_from, agreement`),
		inForce: r.Replace(cols + `WHERE ($1 = '' OR locality = $1) AND valid_from <= $2 AND (valid_until IS NULL OR valid_until >= $2)
			AND (terminated_on IS NULL OR terminated_on > $2) ORDER BY locality, valid_from, agreement`),
		byID:    r.Replace(cols + `WHERE agreement = $1`),
		entries: r.Replace(`SELECT what, on_date, valid_until, note, recorded_at, position FROM {entries} WHERE agreement = $1 ORDER BY position`),
	}
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// Agreement is an agreement in its current state.
type Agreement struct {
	ID              agreement.ID   `json:"id"`
	Locality        locality.ID    `json:"locality"`
	Partner         partner.ID     `json:"partner"`
	Kind            agreement.Kind `json:"kind"`
	TemplateVersion string         `json:"templateVersion"`
	ValidFrom       domain.Date    `json:"validFrom"`
	ValidUntil      domain.Date    `json:"validUntil"` // as last amended; null until further notice
	TerminatedOn    domain.Date    `json:"terminatedOn"`
}

// InForceOn reports whether a is in force on d (see the package doc).
func (a Agreement) InForceOn(d domain.Date) bool {
	return d.OnOrAfter(a.ValidFrom) && (a.ValidUntil.IsZero() || d.OnOrBefore(a.ValidUntil)) && (a.TerminatedOn.IsZero() || d.Before(a.TerminatedOn))
}

// Entry is one line of a timeline. What is "signed", "amended",
// "terminated" or "expired"; the derived "expired" entry has no Position
// or RecordedAt.
type Entry struct {
	What       string          `json:"what"`
	On         domain.Date     `json:"on"`
	ValidUntil domain.Date     `json:"validUntil"`
	Note       string          `json:"note,omitempty"`
	RecordedAt time.Time       `json:"recordedAt,omitzero"`
	Position   domain.Position `json:"position,omitempty"`
}

// Timeline is an agreement and its entries in the order they were
// recorded.
type Timeline struct {
	Agreement Agreement `json:"agreement"`
	Entries   []Entry   `json:"entries"`
}

// Timeline returns agreement id's timeline as it stands on asOf (today
// when zero): every recorded entry, followed by an "expired" entry on the
// day after the last valid day when asOf is past it and the agreement was
// not terminated. It returns an error wrapping domain.ErrNotFound for an
// unknown agreement, or the database's error, wrapped.
func (q *Queries) Timeline(ctx context.Context, id agreement.ID, asOf domain.Date) (Timeline, error) {
	if asOf.IsZero() {
		asOf = domain.DateOf(time.Now())
	}
	as, err := q.agreements(ctx, q.byID, string(id))
	if err != nil {
		return Timeline{}, err
	}
	if len(as) == 0 {
		return Timeline{}, fmt.Errorf("agreement %q: %w", id, domain.ErrNotFound)
	}
	t := Timeline{Agreement: as[0]}
	rows, err := q.db.Query(ctx, q.entries, string(id))
	if err != nil {
		return Timeline{}, fmt.Errorf("read timeline from %s: %w", q.schema, err)
	}
	t.Entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		var on time.Time
		var until *time.Time
		err := row.Scan(&e.What, &on, &until, &e.Note, &e.RecordedAt, &e.Position)
		e.On, e.ValidUntil = domain.DateOf(on), dateOf(until)
		return e, err
	})
	if err != nil {
		return Timeline{}, fmt.Errorf("read timeline from %s: %w", q.schema, err)
	}
	if a := t.Agreement; a.TerminatedOn.IsZero() && !a.ValidUntil.IsZero() && asOf.After(a.ValidUntil) {
		t.Entries = append(t.Entries, Entry{What: "expired", On: a.ValidUntil.AddDays(1), ValidUntil: a.ValidUntil})
	}
	return t, nil
}

// InForce returns the agreements of loc ("" for every locality) in force
// on on (today when zero), by locality, start and id. It returns the
// database's error, wrapped.
func (q *Queries) InForce(ctx context.Context, loc locality.ID, on domain.Date) ([]Agreement, error) {
	if on.IsZero() {
		on = domain.DateOf(time.Now())
	}
	return q.agreements(ctx, q.inForce, string(loc), on.Time())
}

// List returns every agreement of loc ("" for every locality), whatever
// its state, by locality, start and id. It returns the database's error,
// wrapped.
func (q *Queries) List(ctx context.Context, loc locality.ID) ([]Agreement, error) {
	return q.agreements(ctx, q.list, string(loc))
}

func (q *Queries) agreements(ctx context.Context, sql string, args ...any) ([]Agreement, error) {
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read agreements from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Agreement, error) {
		var a Agreement
		var from time.Time
		var until, term *time.Time
		err := row.Scan(&a.ID, &a.Locality, &a.Partner, &a.Kind, &a.TemplateVersion, &from, &until, &term)
		a.ValidFrom, a.ValidUntil, a.TerminatedOn = domain.DateOf(from), dateOf(until), dateOf(term)
		return a, err
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read agreements from %s: %w", q.schema, err)
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
