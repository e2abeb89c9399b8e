package commitments

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the commitments read model of one schema. It implements
// projections.Projection, projections.Resetter and projections.TypeFilter.
type Projection struct {
	schema                                  string
	revised, joined, committed, left, reset string
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
		revised: r.Replace(`INSERT INTO {guideline_versions} (version, effective_from) VALUES ($1, $2)
			ON CONFLICT (version) DO UPDATE SET effective_from = EXCLUDED.effective_from`),
		joined: r.Replace(`INSERT INTO {partners} (partner, locality, name, kind, category, joined_on)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner) DO NOTHING`),
		committed: r.Replace(`INSERT INTO {commitments} (partner, position, guideline_version, via, committed_on)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`),
		left:  r.Replace(`UPDATE {partners} SET left_on = $2 WHERE partner = $1`),
		reset: "TRUNCATE " + strings.Join(q, ", "),
	}
}

// Name returns the schema name ("commitments_v1"), which keys the
// checkpoint.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// EventTypes lists the event types the read model uses.
func (p *Projection) EventTypes() []string {
	return []string{"guideline.revised", "partner.joined", "partner.guideline_committed", "partner.left"}
}

// Reset empties the read model inside tx. It returns the database's error,
// wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, p.reset); err != nil {
		return fmt.Errorf("reset %s: %w", p.schema, err)
	}
	return nil
}

// Handle applies one event inside tx with one statement. It is idempotent
// by position; events it does not use are ignored. It returns the
// database's error, wrapped.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	var sql string
	var args []any
	id := rec.Stream.ID()
	switch e := ev.(type) {
	case guideline.Revised:
		sql, args = p.revised, []any{string(e.Version), e.EffectiveFrom.Time()}
	case partner.Joined:
		sql, args = p.joined, []any{string(e.ID), string(e.Locality), e.Name, string(e.Kind), string(e.Category), e.JoinedOn.Time()}
	case partner.GuidelineCommitted:
		sql, args = p.committed, []any{id, int64(rec.Position), string(e.GuidelineVersion), string(e.Via), e.On.Time()}
	case partner.Left:
		sql, args = p.left, []any{id, e.On.Time()}
	default:
		return nil
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: apply %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}
