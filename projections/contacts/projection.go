package contacts

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the contacts read model of one schema. It implements
// projections.Projection, projections.Resetter and projections.TypeFilter.
type Projection struct {
	schema string
	sql    statements
}

type statements struct {
	joined, approved, left, contact, closeContacts, coordinator, closeCoordinators, reset string
}

// New returns the projection writing into schema (created by DDL(schema)).
func New(schema string) *Projection {
	r := names(schema)
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = pgx.Identifier{schema, t}.Sanitize()
	}
	return &Projection{schema: schema, sql: statements{
		joined: r.Replace(`INSERT INTO {partners} (partner, locality, name, kind, category, joined_on)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner) DO NOTHING`),
		approved: r.Replace(`UPDATE {partners} SET approved_on = $2 WHERE partner = $1`),
		left:     r.Replace(`UPDATE {partners} SET left_on = $2 WHERE partner = $1`),
		contact: r.Replace(`INSERT INTO {contacts} (partner, position, from_on, subject, name, email, phone, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`),
		// Each contact ends where the next (by business date, then log
		// order) begins; only rows whose end changes are written.
		closeContacts: r.Replace(`UPDATE {contacts} c SET to_on = n.next_from
			FROM (SELECT position, lead(from_on) OVER (ORDER BY from_on, position) AS next_from
			      FROM {contacts} WHERE partner = $1) n
			WHERE c.partner = $1 AND c.position = n.position AND c.to_on IS DISTINCT FROM n.next_from`),
		coordinator: r.Replace(`INSERT INTO {coordinators} (locality, side, position, from_on, subject, name, email, phone)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`),
		closeCoordinators: r.Replace(`UPDATE {coordinators} c SET to_on = n.next_from
			FROM (SELECT position, lead(from_on) OVER (ORDER BY from_on, position) AS next_from
			      FROM {coordinators} WHERE locality = $1 AND side = $2) n
			WHERE c.locality = $1 AND c.side = $2 AND c.position = n.position AND c.to_on IS DISTINCT FROM n.next_from`),
		reset: "TRUNCATE " + strings.Join(q, ", "),
	}}
}

// Name returns the schema name ("contacts_v1"): it keys the checkpoint, so
// a version rebuilt beside the live one keeps its own.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// EventTypes lists the event types the read model uses.
func (p *Projection) EventTypes() []string {
	return []string{"partner.joined", "partner.issuer_approved", "partner.contact_changed", "partner.left",
		"locality.coordinator_assigned"}
}

// Reset empties the read model inside tx. It returns the database's error,
// wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, p.sql.reset); err != nil {
		return fmt.Errorf("reset %s: %w", p.schema, err)
	}
	return nil
}

// Handle applies one event inside tx in a single round trip (a pgx.Batch).
// It is idempotent by position: a redelivered event changes nothing. Events
// it does not use are ignored. It returns the database's error, wrapped.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	b := &pgx.Batch{}
	id := rec.Stream.ID()
	switch e := ev.(type) {
	case partner.Joined:
		b.Queue(p.sql.joined, string(e.ID), string(e.Locality), e.Name, string(e.Kind), string(e.Category), dateArg(e.JoinedOn))
		p.queueContact(b, string(e.ID), rec, e.JoinedOn, e.Contact)
	case partner.IssuerApproved:
		b.Queue(p.sql.approved, id, dateArg(e.On))
	case partner.ContactChanged:
		p.queueContact(b, id, rec, e.On, e.Contact)
	case partner.Left:
		b.Queue(p.sql.left, id, dateArg(e.On))
	case locality.CoordinatorAssigned:
		b.Queue(p.sql.coordinator, id, string(e.Side), int64(rec.Position), dateArg(e.On),
			nullable(e.Person.Subject), nullable(e.Person.Name), nullable(e.Person.Email), nullable(e.Person.Phone))
		b.Queue(p.sql.closeCoordinators, id, string(e.Side))
	default:
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%s: apply %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}

func (p *Projection) queueContact(b *pgx.Batch, partnerID string, rec domain.Record, from domain.Date, c domain.Person) {
	b.Queue(p.sql.contact, partnerID, int64(rec.Position), dateArg(from),
		nullable(c.Subject), nullable(c.Name), nullable(c.Email), nullable(c.Phone), rec.RecordedAt)
	b.Queue(p.sql.closeContacts, partnerID)
}

// dateArg encodes a business date for a date column, NULL for the zero date.
func dateArg(d domain.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.Time()
}

// nullable encodes "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
