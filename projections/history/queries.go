package history

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Queries reads one version (schema) of the history read model. It is safe
// for concurrent use when db is (a pool is).
type Queries struct {
	db     DB
	schema string
	from   string
}

// NewQueries returns the queries over the read model in schema.
func NewQueries(db DB, schema string) *Queries {
	return &Queries{db: db, schema: schema, from: names(schema).Replace(`SELECT position, stream, version, type, schema_version,
		occurred_at, recorded_at, principal, coalesce(correlation_id::text, ''), coalesce(causation_id::text, ''),
		coalesce(locality, ''), summary FROM {events}`)}
}

// Schema returns the schema the queries read.
func (q *Queries) Schema() string { return q.schema }

// DefaultLimit and MaxLimit bound a page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Filter selects history rows; zero fields do not filter.
type Filter struct {
	Locality locality.ID
	Stream   domain.StreamID
	// Type is a full type ("partner.contact_changed") or a category
	// ("card", every card event).
	Type string
	// Principal is a principal as stored ("coordinator@espoo#k_3f2a"); a
	// principal without a key ("coordinator@espoo") matches every key.
	Principal string
	// From and To bound the record time: From <= recordedAt < To.
	From, To time.Time
	// After pages: only rows with a position above it.
	After domain.Position
	// Limit is the page size: DefaultLimit when <= 0, at most MaxLimit.
	Limit int
}

// Event is one row of the history.
type Event struct {
	Position      domain.Position `json:"position"`
	Stream        domain.StreamID `json:"stream"`
	Version       domain.Version  `json:"version"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schemaVersion"`
	OccurredAt    time.Time       `json:"occurredAt"`
	RecordedAt    time.Time       `json:"recordedAt"`
	Principal     string          `json:"principal"`
	CorrelationID domain.EventID  `json:"correlationId,omitempty"`
	CausationID   domain.EventID  `json:"causationId,omitempty"`
	Locality      locality.ID     `json:"locality,omitempty"`
	Summary       string          `json:"summary"`
}

// Page is one page of history in position order. Next is the position to
// pass as Filter.After for the next page, or 0 when this page is the last.
type Page struct {
	Events []Event         `json:"events"`
	Next   domain.Position `json:"next,omitempty"`
}

// List returns the rows matching f with a position above f.After, in
// position order, at most f.Limit of them. Each call is one indexed
// statement. It returns the database's error, wrapped.
func (q *Queries) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var where []string
	var args []any
	// add appends a condition whose "?" placeholders take v in order.
	add := func(cond string, v ...any) {
		for _, a := range v {
			args = append(args, a)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	add("position > ?", int64(f.After))
	if f.Locality != "" {
		add("locality = ?", string(f.Locality))
	}
	if f.Stream != "" {
		add("stream = ?", string(f.Stream))
	}
	if f.Type != "" {
		if strings.Contains(f.Type, ".") {
			add("type = ?", f.Type)
		} else {
			add("starts_with(type, ?)", f.Type+".")
		}
	}
	if f.Principal != "" {
		if strings.Contains(f.Principal, "#") {
			add("principal = ?", f.Principal)
		} else {
			add("(principal = ? OR starts_with(principal, ?))", f.Principal, f.Principal+"#")
		}
	}
	if !f.From.IsZero() {
		add("recorded_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("recorded_at < ?", f.To)
	}
	sql := q.from + " WHERE " + strings.Join(where, " AND ") + " ORDER BY position LIMIT " + strconv.Itoa(limit)
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return Page{}, fmt.Errorf("read history from %s: %w", q.schema, err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		var e Event
		err := row.Scan(&e.Position, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion, &e.OccurredAt, &e.RecordedAt,
			&e.Principal, &e.CorrelationID, &e.CausationID, &e.Locality, &e.Summary)
		return e, err
	})
	if err != nil {
		return Page{}, fmt.Errorf("read history from %s: %w", q.schema, err)
	}
	p := Page{Events: evs}
	if len(evs) == limit {
		p.Next = evs[len(evs)-1].Position
	}
	return p, nil
}
