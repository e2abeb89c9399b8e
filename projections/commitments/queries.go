package commitments

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Queries reads one version (schema) of the commitments read model. It is
// safe for concurrent use when db is (a pool is).
type Queries struct {
	db     DB
	schema string
	list   string
}

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	return &Queries{db: db, schema: schema, list: names(schema).Replace(listSQL)}
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// Status is a partner's commitment status on a date; see the package doc.
type Status string

const (
	StatusCommitted Status = "committed"
	StatusOutdated  Status = "outdated"
	StatusMissing   Status = "missing"
)

// ParseStatus accepts "committed", "outdated", "missing" and "" (any). It
// returns a *domain.Invalid with code "invalid_status" otherwise.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case "", StatusCommitted, StatusOutdated, StatusMissing:
		return st, nil
	}
	return "", domain.Invalidf("invalid_status", "status", "%q is not committed, outdated or missing", s)
}

// Commitment is one partner's commitment status on a date. Version, Via
// and On are empty when the status is missing; InForce is empty when no
// guideline version was in force on the date.
type Commitment struct {
	Partner  partner.ID        `json:"partner"`
	Locality locality.ID       `json:"locality"`
	Name     string            `json:"name"`
	Kind     partner.Kind      `json:"kind"`
	Category partner.Category  `json:"category"`
	Version  guideline.Version `json:"guidelineVersion,omitempty"`
	Via      partner.Via       `json:"via,omitempty"`
	On       domain.Date       `json:"on"`
	InForce  guideline.Version `json:"versionInForce,omitempty"`
	Status   Status            `json:"status"`
}

// listSQL picks, per partner in the network on $2, the commitment to the
// version in force if it made one by then, else its latest commitment.
const listSQL = `
WITH gv AS (
    SELECT (SELECT version FROM {guideline_versions} WHERE effective_from <= $2
            ORDER BY effective_from DESC LIMIT 1) AS version
), s AS (
    SELECT p.partner, p.locality, p.name, p.kind, p.category,
           c.guideline_version, c.via, c.committed_on, gv.version AS in_force,
           CASE WHEN c.guideline_version IS NULL THEN 'missing'
                WHEN gv.version IS NULL OR c.guideline_version = gv.version THEN 'committed'
                ELSE 'outdated' END AS status
    FROM {partners} p
    CROSS JOIN gv
    LEFT JOIN LATERAL (
        SELECT guideline_version, via, committed_on FROM {commitments} c
        WHERE c.partner = p.partner AND c.committed_on <= $2
        ORDER BY c.guideline_version IS NOT DISTINCT FROM gv.version DESC, c.committed_on DESC, c.position DESC
        LIMIT 1) c ON true
    WHERE ($1 = '' OR p.locality = $1) AND p.joined_on <= $2 AND (p.left_on IS NULL OR p.left_on > $2)
)
SELECT partner, locality, name, kind, category, coalesce(guideline_version, ''), coalesce(via, ''),
       committed_on, coalesce(in_force, ''), status
FROM s WHERE $3 = '' OR status = $3
ORDER BY locality, partner`

// List returns the commitment status on date on (today when zero) of every
// partner of loc ("" for every locality) in the network on that date,
// filtered by status ("" for all), by locality and partner id. Status
// missing answers who has not committed. It returns the database's error,
// wrapped.
func (q *Queries) List(ctx context.Context, loc locality.ID, status Status, on domain.Date) ([]Commitment, error) {
	if on.IsZero() {
		on = domain.DateOf(time.Now())
	}
	rows, err := q.db.Query(ctx, q.list, string(loc), on.Time(), string(status))
	if err != nil {
		return nil, fmt.Errorf("read commitments from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Commitment, error) {
		var c Commitment
		var committed *time.Time
		err := row.Scan(&c.Partner, &c.Locality, &c.Name, &c.Kind, &c.Category, &c.Version, &c.Via, &committed, &c.InForce, &c.Status)
		if committed != nil {
			c.On = domain.DateOf(*committed)
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read commitments from %s: %w", q.schema, err)
	}
	return out, nil
}
