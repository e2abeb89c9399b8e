package network

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
)

// Member is a locality of the network with its state on a date: "pilot",
// "established", "left", or "" when it had not joined yet.
type Member struct {
	ID             locality.ID    `json:"id"`
	Name           string         `json:"name"`
	Scope          locality.Scope `json:"scope"`
	Municipalities []string       `json:"municipalities"`
	State          string         `json:"state"`
	JoinedOn       domain.Date    `json:"joinedOn"`
	LeftOn         domain.Date    `json:"leftOn"`
}

// Localities returns every registered locality (only loc when not "")
// with its state on business date on, by id, in one statement. Unlike
// AsOf it keeps the localities that left. It returns the database's
// error, wrapped.
func (q *Queries) Localities(ctx context.Context, loc locality.ID, on domain.Date) ([]Member, error) {
	sql := names(q.schema).Replace(`SELECT l.locality, l.name, l.scope, l.municipalities,
		coalesce((SELECT s.state FROM {locality_states} s WHERE s.key = l.locality AND s.valid_from <= $2
		          ORDER BY s.valid_from DESC, s.position DESC LIMIT 1), ''),
		(SELECT min(valid_from) FROM {locality_states} s WHERE s.key = l.locality),
		(SELECT max(valid_from) FROM {locality_states} s WHERE s.key = l.locality AND s.state = 'left')
		FROM {localities} l WHERE $1 = '' OR l.locality = $1 ORDER BY l.locality`)
	rows, err := q.db.Query(ctx, sql, string(loc), on.Time())
	if err != nil {
		return nil, fmt.Errorf("read localities from %s: %w", q.schema, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Member, error) {
		var m Member
		var joined, left *time.Time
		err := row.Scan(&m.ID, &m.Name, &m.Scope, &m.Municipalities, &m.State, &joined, &left)
		if joined != nil {
			m.JoinedOn = domain.DateOf(*joined)
		}
		if left != nil {
			m.LeftOn = domain.DateOf(*left)
		}
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("read localities from %s: %w", q.schema, err)
	}
	return out, nil
}
