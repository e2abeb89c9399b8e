package cards

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the cards read model of one schema. It implements
// projections.Projection, projections.Resetter and projections.TypeFilter.
type Projection struct {
	schema string
	sql    statements
}

type statements struct {
	card, period, replaced, corrected, cancelled, use, useCancelled string
	partner, partnerLeft, locality, localityLeft, reset             string
}

// New returns the projection writing into schema (created by DDL(schema)).
func New(schema string) *Projection {
	r := names(schema)
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = pgx.Identifier{schema, t}.Sanitize()
	}
	return &Projection{schema: schema, sql: statements{
		card: r.Replace(`INSERT INTO {cards} (card, issuer, locality, kind, issued_on, replaces, birth_year, postal_code,
			minor_children, life_situation, gender) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (card) DO NOTHING`),
		period:   r.Replace(`INSERT INTO {periods} (card, position, from_on, until_on) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`),
		replaced: r.Replace(`UPDATE {cards} SET replaced_by = $2, replaced_on = $3 WHERE card = $1`),
		corrected: r.Replace(`UPDATE {cards} SET minor_children = coalesce($2, minor_children), postal_code = coalesce($3, postal_code),
			life_situation = coalesce($4, life_situation), gender = coalesce($5, gender), birth_year = coalesce($6, birth_year) WHERE card = $1`),
		cancelled: r.Replace(`UPDATE {cards} SET cancelled_on = $2 WHERE card = $1`),
		use: r.Replace(`INSERT INTO {uses} (card, use_id, position, venue, venue_locality, used_on, category, kind, child_tickets, assistant)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`),
		useCancelled: r.Replace(`UPDATE {uses} SET cancelled = true WHERE card = $1 AND use_id = $2`),
		partner: r.Replace(`INSERT INTO {partners} (partner, locality, kind, category, joined_on) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`),
		partnerLeft:  r.Replace(`UPDATE {partners} SET left_on = $2 WHERE partner = $1`),
		locality:     r.Replace(`INSERT INTO {localities} (locality, scope, joined_on) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`),
		localityLeft: r.Replace(`UPDATE {localities} SET left_on = $2 WHERE locality = $1`),
		reset:        "TRUNCATE " + strings.Join(q, ", "),
	}}
}

// Name returns the schema name ("cards_v1"): it keys the checkpoint, so a
// version rebuilt beside the live one keeps its own.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// EventTypes lists the event types the read model uses.
func (p *Projection) EventTypes() []string {
	return []string{"card.issued", "card.renewed", "card.replaced", "card.replacement_issued", "card.details_corrected",
		"card.cancelled", "card.use_recorded", "card.use_cancelled",
		"partner.joined", "partner.left", "locality.registered", "locality.left"}
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
	id, pos := rec.Stream.ID(), int64(rec.Position)
	switch e := ev.(type) {
	case card.Issued:
		b.Queue(p.sql.card, string(e.Card), string(e.Issuer), string(e.Locality), string(e.Kind), e.IssuedOn.Time(), nil,
			nullInt(e.Holder.BirthYear), e.Holder.PostalCode, e.Holder.MinorChildren, nullable(e.Holder.LifeSituation), nullable(e.Holder.Gender))
		b.Queue(p.sql.period, string(e.Card), pos, e.IssuedOn.Time(), e.ValidUntil.Time())
	case card.ReplacementIssued:
		b.Queue(p.sql.card, string(e.Card), string(e.Issuer), string(e.Locality), string(e.Kind), e.IssuedOn.Time(), string(e.ReplacesCard),
			nullInt(e.Holder.BirthYear), e.Holder.PostalCode, e.Holder.MinorChildren, nullable(e.Holder.LifeSituation), nullable(e.Holder.Gender))
		b.Queue(p.sql.period, string(e.Card), pos, e.IssuedOn.Time(), e.ValidUntil.Time())
	case card.Renewed:
		b.Queue(p.sql.period, id, pos, e.On.Time(), e.ValidUntil.Time())
	case card.Replaced:
		b.Queue(p.sql.replaced, id, string(e.NewCard), e.On.Time())
	case card.DetailsCorrected:
		b.Queue(p.sql.corrected, id, e.MinorChildren, e.PostalCode, e.LifeSituation, e.Gender, e.BirthYear)
	case card.Cancelled:
		b.Queue(p.sql.cancelled, id, e.On.Time())
	case card.UseRecorded:
		b.Queue(p.sql.use, id, string(e.Use), pos, string(e.Venue), string(e.VenueLocality), e.UsedOn.Time(), e.Category,
			string(e.Kind), e.ChildTickets, e.Assistant)
	case card.UseCancelled:
		b.Queue(p.sql.useCancelled, id, string(e.Use))
	case partner.Joined:
		b.Queue(p.sql.partner, string(e.ID), string(e.Locality), string(e.Kind), string(e.Category), e.JoinedOn.Time())
	case partner.Left:
		b.Queue(p.sql.partnerLeft, id, e.On.Time())
	case locality.Registered:
		b.Queue(p.sql.locality, string(e.ID), string(e.Scope), e.JoinedOn.Time())
	case locality.Left:
		b.Queue(p.sql.localityLeft, id, e.On.Time())
	default:
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%s: apply %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}

// nullable encodes "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt encodes 0 as NULL (a community card's birth year may be absent).
func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}
