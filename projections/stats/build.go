package stats

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// WithBuildMode makes the projection fill a freshly created schema as
// fast as it can, for a build beside the live version (catalog.Rebuild):
// it implies WithBatchFlush; PrepareBuild drops the uses and cards
// secondary indexes before the first event, and cancellations of uses
// already written (not in the page still buffered) are not looked up one
// by one but recorded in a side table and applied in one join by
// FinishBuild, which also restores every index, so that the schema is
// then exactly what DDL creates and a live projection can continue it.
// Between PrepareBuild and FinishBuild the tables must not be read. The
// live projection never uses build mode.
func WithBuildMode() Option {
	return func(p *Projection) { p.batched, p.build = true, true }
}

// buildIndexes are the secondary indexes a build drops and restores (the
// DDL recreates them with IF NOT EXISTS).
var buildIndexes = []string{"uses_use_key", "uses_used_on", "cards_issued_on"}

// PrepareBuild readies an empty schema created by DDL for a build-mode
// projection: it drops the secondary indexes and creates the side table of
// deferred cancellations. It does nothing unless the projection was made
// WithBuildMode. It returns the database's error, wrapped.
func (p *Projection) PrepareBuild(ctx context.Context, db Execer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.build {
		return nil
	}
	for _, ix := range buildIndexes {
		if _, err := db.Exec(ctx, "DROP INDEX IF EXISTS "+pgx.Identifier{p.schema, ix}.Sanitize()); err != nil {
			return fmt.Errorf("statistics %s: prepare build: %w", p.schema, err)
		}
	}
	if _, err := db.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (card text NOT NULL, use_id text NOT NULL)`,
		p.table("build_cancellations"))); err != nil {
		return fmt.Errorf("statistics %s: prepare build: %w", p.schema, err)
	}
	return nil
}

// FinishBuild ends a build started by PrepareBuild, once the projection
// has caught up: it applies the deferred cancellations in one statement,
// drops their side table, recreates the indexes (DDL) and analyses the
// tables, in db (a transaction makes it all or nothing). Afterwards the
// schema is the one DDL describes and the projection may be driven like a
// live one. It does nothing unless the projection was made WithBuildMode.
// It returns the database's error, wrapped.
func (p *Projection) FinishBuild(ctx context.Context, db Execer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.build {
		return nil
	}
	// A driver flushes before each commit: anything still pending belongs
	// to a transaction that was rolled back.
	p.pending.reset()
	steps := []string{
		fmt.Sprintf(`UPDATE %s u SET cancelled = true FROM %s c WHERE u.card = c.card AND u.use_id = c.use_id AND NOT u.cancelled`,
			p.table("uses"), p.table("build_cancellations")),
		"DROP TABLE " + p.table("build_cancellations"),

		DDL(p.schema),
		fmt.Sprintf("ANALYZE %s, %s", p.table("cards"), p.table("uses")),
	}
	for _, q := range steps {
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("statistics %s: finish build: %w", p.schema, err)
		}
	}
	p.build = false
	return nil
}

// flushCancels writes the deferred cancellations of a build.
func (p *Projection) flushCancels(ctx context.Context, tx pgx.Tx) error {
	n := len(p.pending.cancels)
	if n == 0 {
		return nil
	}
	cards, uses := make([]string, n), make([]string, n)
	for i, k := range p.pending.cancels {
		cards[i], uses[i] = string(k.card), string(k.use)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (card, use_id) SELECT * FROM unnest($1::text[], $2::text[])`,
		p.table("build_cancellations")), cards, uses); err != nil {
		return fmt.Errorf("write %d cancellations: %w", n, err)
	}
	return nil
}
