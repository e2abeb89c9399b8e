package network

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Queries reads one version (schema) of the network read model. It is
// safe for concurrent use when db is (a pool is).
type Queries struct {
	db                                      DB
	schema                                  string
	localities, partners, agreements, erase string
}

// at selects the fact of a thing valid on $2.
const at = `valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)`

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	r := names(schema)
	return &Queries{db: db, schema: schema,
		localities: r.Replace(`SELECT l.locality, l.name, l.scope, l.municipalities, s.state FROM {localities} l
			JOIN {locality_states} s ON s.key = l.locality AND ` + strings.ReplaceAll(at, "valid_", "s.valid_") + `
			WHERE ($1 = '' OR l.locality = $1) AND s.state <> 'left' ORDER BY l.locality`),
		partners: r.Replace(`SELECT p.partner, p.locality, p.name, p.kind, p.category, s.state,
			coalesce(c.subject, ''), coalesce(c.name, ''), coalesce(c.email, ''), coalesce(c.phone, '')
			FROM {partners} p
			JOIN {partner_states} s ON s.key = p.partner AND ` + strings.ReplaceAll(at, "valid_", "s.valid_") + `
			LEFT JOIN {contacts} c ON c.key = p.partner AND ` + strings.ReplaceAll(at, "valid_", "c.valid_") + `
			WHERE ($1 = '' OR p.locality = $1) AND s.state <> 'left' ORDER BY p.locality, p.partner`),
		agreements: r.Replace(`SELECT a.agreement, a.locality, a.partner, a.kind, a.template_version, a.valid_from, t.valid_until
			FROM {agreements} a
			JOIN {agreement_terms} t ON t.key = a.agreement AND ` + strings.ReplaceAll(at, "valid_", "t.valid_") + `
			WHERE ($1 = '' OR a.locality = $1) AND NOT t.terminated AND a.valid_from <= $2 AND (t.valid_until IS NULL OR t.valid_until >= $2)
			ORDER BY a.locality, a.agreement`),
		erase: r.Replace(`UPDATE {contacts} SET name = NULL, email = NULL, phone = NULL
			WHERE subject = $1 AND (name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL)`),
	}
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// Network is the network as it stood on On.
type Network struct {
	On         domain.Date `json:"on"`
	Localities []Locality  `json:"localities"`
	Partners   []Partner   `json:"partners"`
	Agreements []Agreement `json:"agreements"`
}

// Locality is a locality in the network; State is "pilot" or
// "established".
type Locality struct {
	ID             locality.ID    `json:"id"`
	Name           string         `json:"name"`
	Scope          locality.Scope `json:"scope"`
	Municipalities []string       `json:"municipalities"`
	State          string         `json:"state"`
}

// Partner is a partner in the network with its contact on the date; State
// is "joined" or "approved". Contact fields are empty once erased.
type Partner struct {
	ID       partner.ID       `json:"id"`
	Locality locality.ID      `json:"locality"`
	Name     string           `json:"name"`
	Kind     partner.Kind     `json:"kind"`
	Category partner.Category `json:"category"`
	State    string           `json:"state"`
	Contact  Contact          `json:"contact"`
}

// Contact is a partner's contact person.
type Contact struct {
	Subject string `json:"subject,omitempty"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
}

// Agreement is an agreement in force on the date, with the last valid
// day its terms on that date gave it (null: until further notice).
type Agreement struct {
	ID              agreement.ID   `json:"id"`
	Locality        locality.ID    `json:"locality"`
	Partner         partner.ID     `json:"partner"`
	Kind            agreement.Kind `json:"kind"`
	TemplateVersion string         `json:"templateVersion"`
	ValidFrom       domain.Date    `json:"validFrom"`
	ValidUntil      domain.Date    `json:"validUntil"`
}

// AsOf returns the network of loc ("" for every locality) as it stood on
// business date on, by what the log records now: members that had joined
// and not left, their partners' states and contacts valid on that date,
// and the agreements in force. It reads in three indexed statements; it
// returns the database's error, wrapped.
func (q *Queries) AsOf(ctx context.Context, loc locality.ID, on domain.Date) (Network, error) {
	n := Network{On: on}
	args := []any{string(loc), on.Time()}
	var err error
	if n.Localities, err = collect(ctx, q, q.localities, args, func(row pgx.CollectableRow) (Locality, error) {
		var l Locality
		return l, row.Scan(&l.ID, &l.Name, &l.Scope, &l.Municipalities, &l.State)
	}); err != nil {
		return Network{}, err
	}
	if n.Partners, err = collect(ctx, q, q.partners, args, func(row pgx.CollectableRow) (Partner, error) {
		var p Partner
		return p, row.Scan(&p.ID, &p.Locality, &p.Name, &p.Kind, &p.Category, &p.State,
			&p.Contact.Subject, &p.Contact.Name, &p.Contact.Email, &p.Contact.Phone)
	}); err != nil {
		return Network{}, err
	}
	if n.Agreements, err = collect(ctx, q, q.agreements, args, func(row pgx.CollectableRow) (Agreement, error) {
		var a Agreement
		var from time.Time
		var until *time.Time
		err := row.Scan(&a.ID, &a.Locality, &a.Partner, &a.Kind, &a.TemplateVersion, &from, &until)
		a.ValidFrom = domain.DateOf(from)
		if until != nil {
			a.ValidUntil = domain.DateOf(*until)
		}
		return a, err
	}); err != nil {
		return Network{}, err
	}
	return n, nil
}

// Erase nulls the contact data of subject in every interval, keeping the
// intervals. It returns how many rows changed and the database's error,
// wrapped.
func (q *Queries) Erase(ctx context.Context, subject string) (int64, error) {
	tag, err := q.db.Exec(ctx, q.erase, subject)
	if err != nil {
		return 0, fmt.Errorf("erase subject from %s: %w", q.schema, err)
	}
	return tag.RowsAffected(), nil
}

func collect[T any](ctx context.Context, q *Queries, sql string, args []any, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read network from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("read network from %s: %w", q.schema, err)
	}
	return out, nil
}
