package compliance

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the compliance read model of one schema. It implements
// projections.Projection, projections.Resetter and projections.TypeFilter.
type Projection struct {
	schema string
	sql    map[string]string
}

// New returns the projection writing into schema (created by DDL(schema)).
func New(schema string) *Projection {
	r := names(schema)
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = pgx.Identifier{schema, t}.Sanitize()
	}
	sql := map[string]string{
		"revised":      `INSERT INTO {guideline_versions} VALUES ($1, $2) ON CONFLICT (version) DO UPDATE SET effective_from = EXCLUDED.effective_from`,
		"registered":   `INSERT INTO {localities} (locality, name, joined_on) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		"localityLeft": `UPDATE {localities} SET left_on = $2 WHERE locality = $1`,
		"meeting":      `INSERT INTO {meetings} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		"joined": `INSERT INTO {partners} (partner, locality, name, kind, joined_on, has_contact)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		"contact":     `UPDATE {partners} SET has_contact = $2 WHERE partner = $1`,
		"committed":   `INSERT INTO {commitments} VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		"partnerLeft": `UPDATE {partners} SET left_on = $2 WHERE partner = $1`,
		"signed": `INSERT INTO {agreements} (agreement, locality, partner, valid_from, valid_until)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		"amended":    `UPDATE {agreements} SET valid_until = $2 WHERE agreement = $1`,
		"terminated": `UPDATE {agreements} SET terminated_on = $2 WHERE agreement = $1`,
	}
	for k, v := range sql {
		sql[k] = r.Replace(v)
	}
	sql["reset"] = "TRUNCATE " + strings.Join(q, ", ")
	return &Projection{schema: schema, sql: sql}
}

// Name returns the schema name ("compliance_v1"), which keys the
// checkpoint.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// EventTypes lists the event types the read model uses.
func (p *Projection) EventTypes() []string {
	return []string{"guideline.revised", "locality.registered", "locality.left", "locality.feedback_meeting_held",
		"partner.joined", "partner.contact_changed", "partner.guideline_committed", "partner.left",
		"agreement.signed", "agreement.amended", "agreement.terminated"}
}

// Reset empties the read model inside tx. It returns the database's error,
// wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, p.sql["reset"]); err != nil {
		return fmt.Errorf("reset %s: %w", p.schema, err)
	}
	return nil
}

// Handle applies one event inside tx with one statement. It is idempotent
// by position; events it does not use are ignored. It returns the
// database's error, wrapped.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	id := rec.Stream.ID()
	var key string
	var args []any
	switch e := ev.(type) {
	case guideline.Revised:
		key, args = "revised", []any{string(e.Version), e.EffectiveFrom.Time()}
	case locality.Registered:
		key, args = "registered", []any{string(e.ID), e.Name, e.JoinedOn.Time()}
	case locality.Left:
		key, args = "localityLeft", []any{id, e.On.Time()}
	case locality.FeedbackMeetingHeld:
		key, args = "meeting", []any{id, int64(rec.Position), e.HeldOn.Time()}
	case partner.Joined:
		key, args = "joined", []any{string(e.ID), string(e.Locality), e.Name, string(e.Kind), e.JoinedOn.Time(), hasContact(e.Contact)}
	case partner.ContactChanged:
		key, args = "contact", []any{id, hasContact(e.Contact)}
	case partner.GuidelineCommitted:
		key, args = "committed", []any{id, int64(rec.Position), string(e.GuidelineVersion), e.On.Time()}
	case partner.Left:
		key, args = "partnerLeft", []any{id, e.On.Time()}
	case agreement.Signed:
		key, args = "signed", []any{string(e.ID), string(e.Locality), string(e.Partner), e.ValidFrom.Time(), dateArg(e.ValidUntil)}
	case agreement.Amended:
		key, args = "amended", []any{id, dateArg(e.ValidUntil)}
	case agreement.Terminated:
		key, args = "terminated", []any{id, e.On.Time()}
	default:
		return nil
	}
	if _, err := tx.Exec(ctx, p.sql[key], args...); err != nil {
		return fmt.Errorf("%s: apply %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}

func hasContact(c domain.Person) bool { return c.Subject != "" || c.Name != "" }

// dateArg encodes a date for a nullable column: NULL for the zero date (a
// network agreement valid until further notice, which never expires).
func dateArg(d domain.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.Time()
}
