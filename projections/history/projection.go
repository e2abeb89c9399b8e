package history

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the history read model of one schema. It takes every
// event type. It implements projections.Projection and
// projections.Resetter.
type Projection struct {
	schema                                           string
	insert, partnerLoc, agreementLoc, cardLoc, reset string
}

// New returns the projection writing into schema (created by DDL(schema)).
func New(schema string) *Projection {
	r := names(schema)
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = pgx.Identifier{schema, t}.Sanitize()
	}
	return &Projection{
		schema: schema,
		// $12 is the locality when the event names it; otherwise $13 says
		// which lookup table to find it in under key $14.
		insert: r.Replace(`INSERT INTO {events} (position, stream, version, type, schema_version, occurred_at, recorded_at,
			principal, correlation_id, causation_id, locality, summary)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9::text, '')::uuid, nullif($10::text, '')::uuid,
			coalesce($12::text, CASE $13::text
				WHEN 'partner' THEN (SELECT locality FROM {partner_localities} WHERE partner = $14)
				WHEN 'agreement' THEN (SELECT locality FROM {agreement_localities} WHERE agreement = $14)
				WHEN 'card' THEN (SELECT locality FROM {card_localities} WHERE card = $14) END),
			$11)
			ON CONFLICT (position) DO NOTHING`),
		partnerLoc:   r.Replace(`INSERT INTO {partner_localities} VALUES ($1, $2) ON CONFLICT DO NOTHING`),
		agreementLoc: r.Replace(`INSERT INTO {agreement_localities} VALUES ($1, $2) ON CONFLICT DO NOTHING`),
		cardLoc:      r.Replace(`INSERT INTO {card_localities} VALUES ($1, $2) ON CONFLICT DO NOTHING`),
		reset:        "TRUNCATE " + strings.Join(q, ", "),
	}
}

// Name returns the schema name ("history_v1"), which keys the checkpoint.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// Reset empties the read model inside tx. It returns the database's error,
// wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, p.reset); err != nil {
		return fmt.Errorf("reset %s: %w", p.schema, err)
	}
	return nil
}

// Handle records one event inside tx in one round trip. It records every
// event, those this build cannot decode (ev nil) included, and is
// idempotent by position. It returns the database's error, wrapped.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	b := &pgx.Batch{}
	id := rec.Stream.ID()
	var loc any // the locality, when known here
	lookup := rec.Stream.Category()
	switch e := ev.(type) {
	case partner.Joined:
		loc = string(e.Locality)
		b.Queue(p.partnerLoc, string(e.ID), loc)
	case agreement.Signed:
		loc = string(e.Locality)
		b.Queue(p.agreementLoc, string(e.ID), loc)
	case card.Issued:
		loc = string(e.Locality)
		b.Queue(p.cardLoc, string(e.Card), loc)
	case card.ReplacementIssued:
		loc = string(e.Locality)
		b.Queue(p.cardLoc, string(e.Card), loc)
	default:
		if lookup == "locality" {
			loc = id
		}
	}
	b.Queue(p.insert, int64(rec.Position), string(rec.Stream), int64(rec.Version), rec.Type, rec.SchemaVersion,
		rec.OccurredAt, rec.RecordedAt, rec.Principal.String(), string(rec.CorrelationID), string(rec.CausationID),
		Summary(rec, ev), loc, lookup, id)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%s: record %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}
