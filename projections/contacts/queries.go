package contacts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Queries reads one version (schema) of the contacts read model. It is
// safe for concurrent use when db is (a pool is).
type Queries struct {
	db     DB
	schema string
	r      *strings.Replacer
}

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	return &Queries{db: db, schema: schema, r: names(schema)}
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// Person is a contact person or coordinator. Subject is the person's
// data subject id (for subject access and erasure). Once the subject's
// personal data was erased, Name, Email and Phone are empty and Erased is
// true: the row itself, with its dates, stays.
type Person struct {
	Subject string `json:"subject,omitempty"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Erased  bool   `json:"erased,omitempty"`
}

// markErased sets Erased for a subject whose personal data is gone.
func (p *Person) markErased() {
	p.Erased = p.Subject != "" && p.Name == "" && p.Email == "" && p.Phone == ""
}

// Contact is one partner's contact person over a period: from From until
// the day before To (To is zero for the current contact).
type Contact struct {
	Partner     partner.ID  `json:"partner"`
	Locality    locality.ID `json:"locality"`
	PartnerName string      `json:"partnerName"`
	Person
	From       domain.Date `json:"from"`
	To         domain.Date `json:"to"`
	RecordedAt time.Time   `json:"recordedAt"`
}

// Partner is a partner with its state.
type Partner struct {
	ID         partner.ID       `json:"id"`
	Locality   locality.ID      `json:"locality"`
	Name       string           `json:"name"`
	Kind       partner.Kind     `json:"kind"`
	Category   partner.Category `json:"category"`
	State      State            `json:"state"`
	JoinedOn   domain.Date      `json:"joinedOn"`
	ApprovedOn domain.Date      `json:"approvedOn"`
	LeftOn     domain.Date      `json:"leftOn"`
}

// State is a partner's state as recorded: joined, approved (issuers that
// Kaikukeskus approved) or left.
type State string

const (
	StateJoined   State = "joined"
	StateApproved State = "approved"
	StateLeft     State = "left"
)

// Coordinator is a locality's current coordinator of one side, since From.
type Coordinator struct {
	Locality locality.ID   `json:"locality"`
	Side     locality.Side `json:"side"`
	Person
	From domain.Date `json:"from"`
}

// Current returns the current contact of every partner of loc that has not
// left, by partner id; loc "" means every locality. Each such partner has
// exactly one. It returns the database's error, wrapped.
func (q *Queries) Current(ctx context.Context, loc locality.ID) ([]Contact, error) {
	return q.contacts(ctx, `WHERE c.to_on IS NULL AND p.left_on IS NULL AND ($1 = '' OR p.locality = $1)
		ORDER BY p.partner`, string(loc))
}

// History returns every contact partner p had, in business-date order
// (the last one is current). It returns an error wrapping domain.ErrNotFound
// when the partner is unknown, or the database's error, wrapped.
func (q *Queries) History(ctx context.Context, p partner.ID) ([]Contact, error) {
	out, err := q.contacts(ctx, `WHERE p.partner = $1 ORDER BY c.from_on, c.position`, string(p))
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("contact history of partner %q: %w", p, domain.ErrNotFound)
	}
	return out, nil
}

func (q *Queries) contacts(ctx context.Context, where string, args ...any) ([]Contact, error) {
	rows, err := q.db.Query(ctx, q.r.Replace(`SELECT p.partner, p.locality, p.name,
		coalesce(c.subject, ''), coalesce(c.name, ''), coalesce(c.email, ''), coalesce(c.phone, ''),
		c.from_on, c.to_on, c.recorded_at
		FROM {contacts} c JOIN {partners} p USING (partner) `)+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read contacts from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contact, error) {
		var c Contact
		var from time.Time
		var to *time.Time
		err := row.Scan(&c.Partner, &c.Locality, &c.PartnerName, &c.Subject, &c.Name, &c.Email, &c.Phone, &from, &to, &c.RecordedAt)
		c.From, c.To = domain.DateOf(from), dateOf(to)
		c.markErased()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read contacts from %s: %w", q.schema, err)
	}
	return out, nil
}

// Partners returns the partners of loc ("" for every locality), those that
// left included, by id. It returns the database's error, wrapped.
func (q *Queries) Partners(ctx context.Context, loc locality.ID) ([]Partner, error) {
	rows, err := q.db.Query(ctx, q.r.Replace(`SELECT partner, locality, name, kind, category, joined_on, approved_on, left_on
		FROM {partners} WHERE $1 = '' OR locality = $1 ORDER BY partner`), string(loc))
	if err != nil {
		return nil, fmt.Errorf("read partners from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Partner, error) {
		var p Partner
		var joined time.Time
		var approved, left *time.Time
		err := row.Scan(&p.ID, &p.Locality, &p.Name, &p.Kind, &p.Category, &joined, &approved, &left)
		p.JoinedOn, p.ApprovedOn, p.LeftOn = domain.DateOf(joined), dateOf(approved), dateOf(left)
		switch {
		case left != nil:
			p.State = StateLeft
		case approved != nil:
			p.State = StateApproved
		default:
			p.State = StateJoined
		}
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read partners from %s: %w", q.schema, err)
	}
	return out, nil
}

// Coordinators returns the current coordinators of loc ("" for every
// locality), at most one per side, by locality and side. It returns the
// database's error, wrapped.
func (q *Queries) Coordinators(ctx context.Context, loc locality.ID) ([]Coordinator, error) {
	rows, err := q.db.Query(ctx, q.r.Replace(`SELECT locality, side,
		coalesce(subject, ''), coalesce(name, ''), coalesce(email, ''), coalesce(phone, ''), from_on
		FROM {coordinators} WHERE to_on IS NULL AND ($1 = '' OR locality = $1) ORDER BY locality, side`), string(loc))
	if err != nil {
		return nil, fmt.Errorf("read coordinators from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Coordinator, error) {
		var c Coordinator
		var from time.Time
		err := row.Scan(&c.Locality, &c.Side, &c.Subject, &c.Name, &c.Email, &c.Phone, &from)
		c.From = domain.DateOf(from)
		c.markErased()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read coordinators from %s: %w", q.schema, err)
	}
	return out, nil
}

// Erase nulls the name, e-mail and phone of subject in every contact and
// coordinator row, keeping the rows (and their dates) themselves. It
// returns how many rows it changed and the database's error, wrapped.
// A replay restores only what the log still holds of the subject.
func (q *Queries) Erase(ctx context.Context, subject string) (int64, error) {
	var n int64
	for _, t := range []string{"{contacts}", "{coordinators}"} {
		tag, err := q.db.Exec(ctx, q.r.Replace(`UPDATE `+t+` SET name = NULL, email = NULL, phone = NULL
			WHERE subject = $1 AND (name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL)`), subject)
		if err != nil {
			return n, fmt.Errorf("erase subject from %s: %w", q.schema, err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

func dateOf(t *time.Time) domain.Date {
	if t == nil {
		return domain.Date{}
	}
	return domain.DateOf(*t)
}
