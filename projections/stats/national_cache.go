package stats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// nationalCache keeps each computed national table with the checkpoint of
// the read-model version it was computed from. The table is a function of
// the read model's state, and that state changes only when the version's
// checkpoint moves (rows and checkpoint commit together), so a table stays
// valid exactly as long as the checkpoint it was read under. Between two
// applied events every reader gets it from memory; the first read after an
// event computes it afresh. Nationally that is a few events a day against
// many reads, which is why the annual table answers in microseconds at any
// scale while its computation grows with the year's uses.
var nationalCache = struct {
	sync.Mutex
	m map[nationalKey]nationalEntry
}{m: map[nationalKey]nationalEntry{}}

type nationalKey struct {
	schema string
	year   int
}

type nationalEntry struct {
	checkpoint checkpoint
	table      NationalTable
}

// checkpoint is a version's checkpoint row: the position and when it last
// moved, so that a rebuild in place that ends at the same position still
// counts as a change.
type checkpoint struct {
	position int64
	moved    time.Time
}

// checkpoint returns the version's checkpoint, and false when the version
// has none (a temporary as-of build), which is then never cached.
func (q *Queries) checkpoint(ctx context.Context) (checkpoint, bool, error) {
	var c checkpoint
	err := q.db.QueryRow(ctx, `SELECT position, updated_at FROM projection_checkpoints WHERE name = $1`, q.schema).Scan(&c.position, &c.moved)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("statistics checkpoint of %s: %w", q.schema, err)
	}
	return c, true, nil
}

// National returns the national table of year (see nationalTable), from
// memory while the read model has not changed since it was last computed.
// The checkpoint is read before the table, so a cached table is never
// older than the state its checkpoint names.
func (q *Queries) National(ctx context.Context, year int) (NationalTable, error) {
	cp, cacheable, err := q.checkpoint(ctx)
	if err != nil {
		return NationalTable{}, err
	}
	key := nationalKey{q.schema, year}
	if cacheable {
		nationalCache.Lock()
		e, ok := nationalCache.m[key]
		nationalCache.Unlock()
		if ok && e.checkpoint == cp {
			return e.table.clone(), nil
		}
	}
	t, err := q.nationalTable(ctx, year)
	if err != nil || !cacheable {
		return t, err
	}
	nationalCache.Lock()
	if len(nationalCache.m) > 10_000 { // versions × years; never near this, but bounded
		clear(nationalCache.m)
	}
	nationalCache.m[key] = nationalEntry{checkpoint: cp, table: t.clone()}
	nationalCache.Unlock()
	return t, nil
}

func (t NationalTable) clone() NationalTable {
	c := t
	c.AdultUsesByCategory = make(map[string]int64, len(t.AdultUsesByCategory))
	for k, v := range t.AdultUsesByCategory {
		c.AdultUsesByCategory[k] = v
	}
	c.ChildTicketsByCategory = make(map[string]int64, len(t.ChildTicketsByCategory))
	for k, v := range t.ChildTicketsByCategory {
		c.ChildTicketsByCategory[k] = v
	}
	return c
}
