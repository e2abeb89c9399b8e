package agreements

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
)

// Projection fills the agreements read model of one schema. It implements
// projections.Projection, projections.Resetter and projections.TypeFilter.
type Projection struct {
	schema                                    string
	signed, amended, terminated, entry, reset string
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
		signed: r.Replace(`INSERT INTO {agreements} (agreement, locality, partner, kind, template_version, valid_from, valid_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (agreement) DO NOTHING`),
		amended:    r.Replace(`UPDATE {agreements} SET valid_until = $2 WHERE agreement = $1`),
		terminated: r.Replace(`UPDATE {agreements} SET terminated_on = $2 WHERE agreement = $1`),
		// The entry's valid_until defaults to the agreement's (terminations
		// carry none of their own).
		entry: r.Replace(`INSERT INTO {entries} (agreement, position, what, on_date, valid_until, note, recorded_at)
			SELECT $1, $2, $3, $4, coalesce($5::date, a.valid_until), $6, $7 FROM {agreements} a WHERE a.agreement = $1
			ON CONFLICT DO NOTHING`),
		reset: "TRUNCATE " + strings.Join(q, ", "),
	}
}

// Name returns the schema name ("agreements_v1"), which keys the
// checkpoint.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// EventTypes lists the event types the read model uses.
func (p *Projection) EventTypes() []string {
	return []string{"agreement.signed", "agreement.amended", "agreement.terminated"}
}

// Reset empties the read model inside tx. It returns the database's error,
// wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, p.reset); err != nil {
		return fmt.Errorf("reset %s: %w", p.schema, err)
	}
	return nil
}

// Handle applies one event inside tx in one round trip (a pgx.Batch). It
// is idempotent by position; events it does not use are ignored. It
// returns the database's error, wrapped.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	b := &pgx.Batch{}
	id := rec.Stream.ID()
	switch e := ev.(type) {
	case agreement.Signed:
		id = string(e.ID)
		b.Queue(p.signed, id, string(e.Locality), string(e.Partner), string(e.Kind), e.TemplateVersion, e.ValidFrom.Time(), dateArg(e.ValidUntil))
		b.Queue(p.entry, id, int64(rec.Position), "signed", e.ValidFrom.Time(), dateArg(e.ValidUntil), "", rec.RecordedAt)
	case agreement.Amended:
		b.Queue(p.amended, id, dateArg(e.ValidUntil))
		b.Queue(p.entry, id, int64(rec.Position), "amended", e.On.Time(), dateArg(e.ValidUntil), e.Reason, rec.RecordedAt)
	case agreement.Terminated:
		b.Queue(p.terminated, id, e.On.Time())
		b.Queue(p.entry, id, int64(rec.Position), "terminated", e.On.Time(), nil, e.Reason, rec.RecordedAt)
	default:
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%s: apply %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}

// dateArg encodes a date for a nullable column: NULL for the zero date (a
// network agreement valid until further notice).
func dateArg(d domain.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.Time()
}
