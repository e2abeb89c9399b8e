package stats_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/stats"
)

// The projection under the real runtime: catch-up with checkpoints, then a
// rebuild in place (Reset and replay in one transaction), then a second
// version beside the live one under its own schema and checkpoint.
func TestUnderTheRuntime(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	scenario(l)
	ctx := context.Background()
	for _, s := range []string{"stats_v1", "stats_v2"} {
		if err := stats.CreateSchema(ctx, l.pool, s); err != nil {
			t.Fatal(err)
		}
	}
	v1, v2 := stats.New("stats_v1"), stats.New("stats_v2")
	r, err := projections.NewRunner(projections.Config{DB: l.pool, Store: l.store}, v1, v2)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, schema string) {
		t.Helper()
		got, err := stats.NewQueries(l.pool, schema).National(ctx, 2024)
		if err != nil {
			t.Fatal(err)
		}
		if want := national2024(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s national 2024 = %+v, want %+v", schema, got, want)
		}
	}
	steps := []struct {
		name   string
		run    func() error
		schema string
	}{
		{name: "catching up from an empty checkpoint counts the scenario", run: func() error { return r.CatchUp(ctx, "stats_v1") }, schema: "stats_v1"},
		{name: "catching up again changes nothing", run: func() error { return r.CatchUp(ctx, "stats_v1") }, schema: "stats_v1"},
		{name: "a rebuild in place counts the same", run: func() error { return r.Rebuild(ctx, "stats_v1") }, schema: "stats_v1"},
		{name: "a second version beside the live one counts the same", run: func() error { return r.CatchUp(ctx, "stats_v2") }, schema: "stats_v2"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.run(); err != nil {
				t.Fatal(err)
			}
			check(t, st.schema)
		})
	}
}
