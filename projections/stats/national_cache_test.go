package stats_test

import (
	"context"
	"testing"

	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/stats"
)

// The national table comes from memory while the version's checkpoint
// stands still, and is computed afresh as soon as an event moves it.
func TestTheNationalTableIsRecomputedWhenAnEventIsApplied(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	scenario(l)
	ctx := context.Background()
	if err := stats.CreateSchema(ctx, l.pool, "stats_cache"); err != nil {
		t.Fatal(err)
	}
	r, err := projections.NewRunner(projections.Config{DB: l.pool, Store: l.store}, stats.New("stats_cache"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx, "stats_cache"); err != nil {
		t.Fatal(err)
	}
	q := stats.NewQueries(l.pool, "stats_cache")
	first, err := q.National(ctx, 2024)
	if err != nil {
		t.Fatal(err)
	}
	if first.AdultUses != national2024().AdultUses {
		t.Fatalf("adult uses %d, want %d", first.AdultUses, national2024().AdultUses)
	}

	// A change behind the projection's back (no checkpoint move) is not
	// seen: the answer is the one computed for this state of the model.
	if _, err := l.pool.Exec(ctx, `CREATE TABLE stats_cache.uses_saved AS SELECT * FROM stats_cache.uses;
		UPDATE stats_cache.uses SET cancelled = true`); err != nil {
		t.Fatal(err)
	}
	again, err := q.National(ctx, 2024)
	if err != nil || again.AdultUses != first.AdultUses {
		t.Fatalf("without a checkpoint move the table was recomputed: %+v, %v", again, err)
	}
	if _, err := l.pool.Exec(ctx, `TRUNCATE stats_cache.uses; INSERT INTO stats_cache.uses SELECT * FROM stats_cache.uses_saved`); err != nil {
		t.Fatal(err)
	}

	// A new use moves the checkpoint: the next answer counts it.
	l.add(card.Stream("K6"), use("u1", "espoo-museum", "espoo", "2024-12-31", "culture", card.UseEvent, 0))
	l.settle()
	if err := r.CatchUp(ctx, "stats_cache"); err != nil {
		t.Fatal(err)
	}
	after, err := q.National(ctx, 2024)
	if err != nil {
		t.Fatal(err)
	}
	if after.AdultUses != first.AdultUses+1 || after.AdultUsesByCategory["culture"] != first.AdultUsesByCategory["culture"]+1 {
		t.Fatalf("after one more use: %+v, before %+v", after, first)
	}
	// The caller's copy is its own: changing it changes no later answer.
	after.AdultUsesByCategory["culture"] = -1
	if again, _ := q.National(ctx, 2024); again.AdultUsesByCategory["culture"] == -1 {
		t.Fatal("the cached table shares its maps with callers")
	}
}
