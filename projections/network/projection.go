package network

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the network read model of one schema. It implements
// projections.Projection, projections.Resetter and projections.TypeFilter.
type Projection struct {
	schema string
	sql    map[string]string
}

// New returns the projection writing into schema (created by DDL(schema)).
func New(schema string) *Projection {
	r := names(schema)
	sql := map[string]string{
		"locality":      `INSERT INTO {localities} VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		"partner":       `INSERT INTO {partners} VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		"agreement":     `INSERT INTO {agreements} VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		"localityState": `INSERT INTO {locality_states} (key, position, valid_from, state) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		"partnerState":  `INSERT INTO {partner_states} (key, position, valid_from, state) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		"contact": `INSERT INTO {contacts} (key, position, valid_from, subject, name, email, phone)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		"term": `INSERT INTO {agreement_terms} (key, position, valid_from, valid_until, terminated)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
	}
	for _, t := range intervals {
		// Each fact of a thing ends where its next fact begins.
		sql["close:"+t] = `UPDATE {` + t + `} c SET valid_to = n.next_from
			FROM (SELECT position, lead(valid_from) OVER (ORDER BY valid_from, position) AS next_from
			      FROM {` + t + `} WHERE key = $1) n
			WHERE c.key = $1 AND c.position = n.position AND c.valid_to IS DISTINCT FROM n.next_from`
	}
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = "{" + t + "}"
	}
	sql["reset"] = "TRUNCATE " + strings.Join(q, ", ")
	for k, v := range sql {
		sql[k] = r.Replace(v)
	}
	return &Projection{schema: schema, sql: sql}
}

// Name returns the schema name ("network_v1"), which keys the checkpoint.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// EventTypes lists the event types the read model uses.
func (p *Projection) EventTypes() []string {
	return []string{"locality.registered", "locality.pilot_concluded", "locality.left",
		"partner.joined", "partner.issuer_approved", "partner.contact_changed", "partner.left",
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

// Handle applies one event inside tx in one round trip (a pgx.Batch): it
// stores the dated fact and recomputes the intervals of the thing it
// concerns. It is idempotent by position; events it does not use are
// ignored. It returns the database's error, wrapped.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	b := &pgx.Batch{}
	id, pos := rec.Stream.ID(), int64(rec.Position)
	fact := func(table string, args ...any) {
		b.Queue(p.sql[table], args...)
		b.Queue(p.sql["close:"+map[string]string{
			"localityState": "locality_states", "partnerState": "partner_states", "contact": "contacts", "term": "agreement_terms",
		}[table]], args[0])
	}
	switch e := ev.(type) {
	case locality.Registered:
		b.Queue(p.sql["locality"], string(e.ID), e.Name, string(e.Scope), e.Municipalities)
		state := "established"
		if e.Pilot != nil {
			state = "pilot"
		}
		fact("localityState", string(e.ID), pos, e.JoinedOn.Time(), state)
	case locality.PilotConcluded:
		fact("localityState", id, pos, e.On.Time(), "established")
	case locality.Left:
		fact("localityState", id, pos, e.On.Time(), "left")
	case partner.Joined:
		b.Queue(p.sql["partner"], string(e.ID), string(e.Locality), e.Name, string(e.Kind), string(e.Category))
		fact("partnerState", string(e.ID), pos, e.JoinedOn.Time(), "joined")
		fact("contact", string(e.ID), pos, e.JoinedOn.Time(), nullable(e.Contact.Subject), nullable(e.Contact.Name),
			nullable(e.Contact.Email), nullable(e.Contact.Phone))
	case partner.IssuerApproved:
		fact("partnerState", id, pos, e.On.Time(), "approved")
	case partner.ContactChanged:
		fact("contact", id, pos, e.On.Time(), nullable(e.Contact.Subject), nullable(e.Contact.Name),
			nullable(e.Contact.Email), nullable(e.Contact.Phone))
	case partner.Left:
		fact("partnerState", id, pos, e.On.Time(), "left")
	case agreement.Signed:
		b.Queue(p.sql["agreement"], string(e.ID), string(e.Locality), string(e.Partner), string(e.Kind), e.TemplateVersion, e.ValidFrom.Time())
		fact("term", string(e.ID), pos, e.ValidFrom.Time(), dateArg(e.ValidUntil), false)
	case agreement.Amended:
		fact("term", id, pos, e.On.Time(), dateArg(e.ValidUntil), false)
	case agreement.Terminated:
		fact("term", id, pos, e.On.Time(), nil, true)
	default:
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%s: apply %s at %d: %w", p.schema, rec.Name(), rec.Position, err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dateArg encodes a date for a nullable column: NULL for the zero date (a
// network agreement valid until further notice).
func dateArg(d domain.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.Time()
}
