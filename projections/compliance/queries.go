package compliance

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// ExpiryWindowDays is how far ahead Report looks for expiring agreements.
const ExpiryWindowDays = 60

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Queries reads one version (schema) of the compliance read model. It is
// safe for concurrent use when db is (a pool is).
type Queries struct {
	db                                           DB
	schema                                       string
	noContact, noCommitment, noMeeting, expiring string
}

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	r := names(schema)
	const active = `($1 = '' OR p.locality = $1) AND p.joined_on <= $2 AND (p.left_on IS NULL OR p.left_on > $2)`
	return &Queries{db: db, schema: schema,
		noContact: r.Replace(`SELECT p.partner, p.locality, p.name, p.kind, '' FROM {partners} p
			WHERE ` + active + ` AND NOT p.has_contact ORDER BY p.locality, p.partner`),
		noCommitment: r.Replace(`WITH gv AS (SELECT version FROM {guideline_versions} WHERE effective_from <= $2
			ORDER BY effective_from DESC LIMIT 1)
			SELECT p.partner, p.locality, p.name, p.kind, gv.version FROM {partners} p CROSS JOIN gv
			WHERE ` + active + ` AND NOT EXISTS (SELECT 1 FROM {commitments} c
				WHERE c.partner = p.partner AND c.guideline_version = gv.version AND c.committed_on <= $2)
			ORDER BY p.locality, p.partner`),
		noMeeting: r.Replace(`SELECT l.locality, l.name, (SELECT max(held_on) FROM {meetings} m WHERE m.locality = l.locality AND m.held_on <= $2)
			FROM {localities} l
			WHERE ($1 = '' OR l.locality = $1) AND l.joined_on <= ($2::date - interval '12 months')::date
			  AND (l.left_on IS NULL OR l.left_on > $2)
			  AND NOT EXISTS (SELECT 1 FROM {meetings} m WHERE m.locality = l.locality
			      AND m.held_on > ($2::date - interval '12 months')::date AND m.held_on <= $2)
			ORDER BY l.locality`),
		expiring: r.Replace(`SELECT agreement, locality, partner, valid_until FROM {agreements} a
			WHERE ($1 = '' OR locality = $1) AND valid_from <= $2 AND valid_until >= $2
			  AND valid_until <= $2::date + $3::int AND (terminated_on IS NULL OR terminated_on > $2)
			ORDER BY valid_until, agreement`),
	}
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// PartnerFinding is a partner missing a contact or a commitment.
// Guideline is the version in force it has not committed to.
type PartnerFinding struct {
	Partner   partner.ID        `json:"partner"`
	Locality  locality.ID       `json:"locality"`
	Name      string            `json:"name"`
	Kind      partner.Kind      `json:"kind"`
	Guideline guideline.Version `json:"guidelineVersion,omitempty"`
}

// LocalityFinding is a locality without a feedback meeting in 12 months;
// LastMeeting is zero when it never held one.
type LocalityFinding struct {
	Locality    locality.ID `json:"locality"`
	Name        string      `json:"name"`
	LastMeeting domain.Date `json:"lastMeeting"`
}

// AgreementFinding is an agreement in force that expires within
// ExpiryWindowDays.
type AgreementFinding struct {
	Agreement  agreement.ID `json:"agreement"`
	Locality   locality.ID  `json:"locality"`
	Partner    partner.ID   `json:"partner"`
	ValidUntil domain.Date  `json:"validUntil"`
	DaysLeft   int          `json:"daysLeft"`
}

// Report is everything that needs attention on On; see the package doc.
type Report struct {
	On                 domain.Date        `json:"on"`
	MissingContact     []PartnerFinding   `json:"missingContact"`
	MissingCommitment  []PartnerFinding   `json:"missingCommitment"`
	NoFeedbackMeeting  []LocalityFinding  `json:"noFeedbackMeeting"`
	ExpiringAgreements []AgreementFinding `json:"expiringAgreements"`
}

// Report returns the findings for loc ("" for every locality) on on (today
// when zero). With no guideline version in force on on, no partner is
// missing a commitment. It returns the database's error, wrapped.
func (q *Queries) Report(ctx context.Context, loc locality.ID, on domain.Date) (Report, error) {
	if on.IsZero() {
		on = domain.DateOf(time.Now())
	}
	r := Report{On: on}
	var err error
	if r.MissingContact, err = q.partners(ctx, q.noContact, loc, on); err != nil {
		return Report{}, err
	}
	if r.MissingCommitment, err = q.partners(ctx, q.noCommitment, loc, on); err != nil {
		return Report{}, err
	}
	rows, err := q.db.Query(ctx, q.noMeeting, string(loc), on.Time())
	if err != nil {
		return Report{}, fmt.Errorf("read compliance from %s: %w", q.schema, err)
	}
	if r.NoFeedbackMeeting, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LocalityFinding, error) {
		var f LocalityFinding
		var last *time.Time
		err := row.Scan(&f.Locality, &f.Name, &last)
		if last != nil {
			f.LastMeeting = domain.DateOf(*last)
		}
		return f, err
	}); err != nil {
		return Report{}, fmt.Errorf("read compliance from %s: %w", q.schema, err)
	}
	rows, err = q.db.Query(ctx, q.expiring, string(loc), on.Time(), ExpiryWindowDays)
	if err != nil {
		return Report{}, fmt.Errorf("read compliance from %s: %w", q.schema, err)
	}
	if r.ExpiringAgreements, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AgreementFinding, error) {
		var f AgreementFinding
		var until time.Time
		err := row.Scan(&f.Agreement, &f.Locality, &f.Partner, &until)
		f.ValidUntil = domain.DateOf(until)
		f.DaysLeft = on.DaysUntil(f.ValidUntil)
		return f, err
	}); err != nil {
		return Report{}, fmt.Errorf("read compliance from %s: %w", q.schema, err)
	}
	return r, nil
}

func (q *Queries) partners(ctx context.Context, sql string, loc locality.ID, on domain.Date) ([]PartnerFinding, error) {
	rows, err := q.db.Query(ctx, sql, string(loc), on.Time())
	if err != nil {
		return nil, fmt.Errorf("read compliance from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PartnerFinding, error) {
		var f PartnerFinding
		err := row.Scan(&f.Partner, &f.Locality, &f.Name, &f.Kind, &f.Guideline)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("read compliance from %s: %w", q.schema, err)
	}
	return out, nil
}
