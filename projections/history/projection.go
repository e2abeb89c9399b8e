package history

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/partner"
)

// Projection fills the history read model of one schema. It takes every
// event type. It implements projections.Projection, projections.Resetter
// and projections.Flusher: Handle buffers a transaction's rows and Flush
// writes them with COPY, resolving the localities it could not see in the
// batch itself with one query per lookup table, so a rebuild costs a few
// statements per page instead of a round trip per event.
type Projection struct {
	schema string
	reset  string
	events pgx.Identifier
	lookup map[string]lookupTable // by stream category: partner, agreement, card

	mu      sync.Mutex
	tx      pgx.Tx // the transaction the buffers belong to
	rows    []row
	fresh   map[string]map[string]string // category → id → locality, learnt in this batch
	written map[string][][]any           // category → new lookup rows to COPY
}

type lookupTable struct {
	table pgx.Identifier
	key   string
	query string
}

// row is one history row; when locality is nil and lookup is set, Flush
// finds the locality of key in that category's lookup table.
type row struct {
	vals   []any
	lookup string
	key    string
}

var columns = []string{"position", "stream", "version", "type", "schema_version", "occurred_at", "recorded_at",
	"principal", "correlation_id", "causation_id", "locality", "summary"}

const localityCol = 10

// New returns the projection writing into schema (created by DDL(schema)).
func New(schema string) *Projection {
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = pgx.Identifier{schema, t}.Sanitize()
	}
	lt := func(table, key string) lookupTable {
		id := pgx.Identifier{schema, table}
		return lookupTable{table: id, key: key,
			query: fmt.Sprintf(`SELECT %[1]s, locality FROM %[2]s WHERE %[1]s = ANY($1)`, key, id.Sanitize())}
	}
	return &Projection{
		schema: schema,
		reset:  "TRUNCATE " + strings.Join(q, ", "),
		events: pgx.Identifier{schema, "events"},
		lookup: map[string]lookupTable{
			"partner":   lt("partner_localities", "partner"),
			"agreement": lt("agreement_localities", "agreement"),
			"card":      lt("card_localities", "card"),
		},
	}
}

// Name returns the schema name ("history_v1"), which keys the checkpoint.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes.
func (p *Projection) Schema() string { return p.schema }

// Reset empties the read model inside tx. It returns the database's error,
// wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	p.mu.Lock()
	p.begin(nil)
	p.mu.Unlock()
	if _, err := tx.Exec(ctx, p.reset); err != nil {
		return fmt.Errorf("reset %s: %w", p.schema, err)
	}
	return nil
}

// begin drops buffers of another transaction (one rolled back without a
// flush) and starts buffering for tx.
func (p *Projection) begin(tx pgx.Tx) {
	p.tx = tx
	p.rows = p.rows[:0]
	p.fresh = map[string]map[string]string{}
	p.written = map[string][][]any{}
}

// Handle buffers one event's row for tx; Flush writes it. It records every
// event, those this build cannot decode (ev nil) included. It never fails.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tx != p.tx {
		p.begin(tx)
	}
	id := rec.Stream.ID()
	category := rec.Stream.Category()
	var loc any // the locality, when known here
	learn := func(cat, key string, l string) {
		if p.fresh[cat] == nil {
			p.fresh[cat] = map[string]string{}
		}
		p.fresh[cat][key] = l
		p.written[cat] = append(p.written[cat], []any{key, l})
		loc = l
	}
	switch e := ev.(type) {
	case partner.Joined:
		learn("partner", string(e.ID), string(e.Locality))
	case agreement.Signed:
		learn("agreement", string(e.ID), string(e.Locality))
	case card.Issued:
		learn("card", string(e.Card), string(e.Locality))
	case card.ReplacementIssued:
		learn("card", string(e.Card), string(e.Locality))
	default:
		if category == "locality" {
			loc = id
		} else if l, ok := p.fresh[category][id]; ok {
			loc = l
		}
	}
	r := row{vals: []any{int64(rec.Position), string(rec.Stream), int64(rec.Version), rec.Type, int32(rec.SchemaVersion),
		rec.OccurredAt, rec.RecordedAt, rec.Principal.String(), uuidOrNil(rec.CorrelationID), uuidOrNil(rec.CausationID),
		loc, Summary(rec, ev)}}
	if _, ok := p.lookup[category]; ok && loc == nil {
		r.lookup, r.key = category, id
	}
	p.rows = append(p.rows, r)
	return nil
}

func uuidOrNil(id domain.EventID) any {
	if id == "" {
		return nil
	}
	return string(id)
}

// Flush writes the rows Handle buffered for tx: it resolves the missing
// localities, then COPYs the new lookup rows and the history rows. It
// returns the database's error, wrapped; the caller rolls tx back then.
func (p *Projection) Flush(ctx context.Context, tx pgx.Tx) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tx != p.tx || len(p.rows) == 0 {
		return nil
	}
	defer p.begin(nil)
	missing := map[string][]string{}
	for _, r := range p.rows {
		if r.lookup != "" {
			missing[r.lookup] = append(missing[r.lookup], r.key)
		}
	}
	found := map[string]map[string]string{}
	for cat, keys := range missing {
		lt := p.lookup[cat]
		rows, err := tx.Query(ctx, lt.query, keys)
		if err != nil {
			return fmt.Errorf("%s: look up %s localities: %w", p.schema, cat, err)
		}
		m := map[string]string{}
		var k, l string
		if _, err := pgx.ForEachRow(rows, []any{&k, &l}, func() error { m[k] = l; return nil }); err != nil {
			return fmt.Errorf("%s: look up %s localities: %w", p.schema, cat, err)
		}
		found[cat] = m
	}
	for cat, rs := range p.written {
		lt := p.lookup[cat]
		if _, err := tx.CopyFrom(ctx, lt.table, []string{lt.key, "locality"}, pgx.CopyFromRows(rs)); err != nil {
			return fmt.Errorf("%s: write %s localities: %w", p.schema, cat, err)
		}
	}
	vals := make([][]any, len(p.rows))
	for i, r := range p.rows {
		if r.lookup != "" {
			if l, ok := found[r.lookup][r.key]; ok {
				r.vals[localityCol] = l
			}
		}
		vals[i] = r.vals
	}
	if _, err := tx.CopyFrom(ctx, p.events, columns, pgx.CopyFromRows(vals)); err != nil {
		return fmt.Errorf("%s: write %d history rows: %w", p.schema, len(vals), err)
	}
	return nil
}
