package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/catalog"
)

func TestANewDatabaseGetsOneLiveVersionOfEveryReadModel(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the second call finds them all live and changes nothing
		if err := catalog.EnsureLive(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := catalog.Versions(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(catalog.Names()) {
		t.Fatalf("got %d versions, want one per read model: %+v", len(vs), vs)
	}
	for _, name := range catalog.Names() {
		s, err := catalog.Live(ctx, pool, name)
		if err != nil || s != name+"_v1" {
			t.Errorf("live %s = %q, %v", name, s, err)
		}
	}
}

func TestASwitchRetiresTheOldVersionAndReadersSeeTheNewOneAtOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if err := catalog.EnsureLive(ctx, pool); err != nil {
		t.Fatal(err)
	}
	v, err := catalog.Create(ctx, pool, catalog.Stats, "")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := catalog.Live(ctx, pool, catalog.Stats); s != "stats_v1" {
		t.Fatalf("a version being built must not be live yet; live = %s", s)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return catalog.Switch(ctx, tx, v) }); err != nil {
		t.Fatal(err)
	}
	if s, _ := catalog.Live(ctx, pool, catalog.Stats); s != "stats_v2" {
		t.Fatalf("after the switch live = %s, want stats_v2", s)
	}
	var state string
	if err := pool.QueryRow(ctx, `SELECT state FROM read_model_versions WHERE schema_name = 'stats_v1'`).Scan(&state); err != nil || state != "retired" {
		t.Fatalf("old version state %q, %v", state, err)
	}
}

func TestARestatedBuildIsNeverLive(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if err := catalog.EnsureLive(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.Restated(ctx, pool, "2015"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("before any restatement: %v", err)
	}
	v, err := catalog.Create(ctx, pool, catalog.Stats, "2015")
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return catalog.Switch(ctx, tx, v) }); err != nil {
		t.Fatal(err)
	}
	if s, _ := catalog.Live(ctx, pool, catalog.Stats); s != "stats_v1" {
		t.Fatalf("live = %s after a restatement", s)
	}
	if s, err := catalog.Restated(ctx, pool, "2015"); err != nil || s != v.Schema {
		t.Fatalf("restated = %s, %v", s, err)
	}
	if _, err := catalog.Create(ctx, pool, catalog.History, "2015"); domain.CodeOf(err) != "rules_not_applicable" {
		t.Fatalf("restating history: %v", err)
	}
}
