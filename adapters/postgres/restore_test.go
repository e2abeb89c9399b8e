package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/dataset"
	"github.com/kaiku/kaiku/domain/eventstoretest"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/catalog"
)

// TestRestoreDrill is the operator's disaster-recovery drill on real
// clusters of its own: a log written and chained in a cluster that has run
// for a while (transaction ids pushed up with pg_resetwal), dumped with
// pg_dump and restored with pg_restore into a fresh cluster whose
// transaction ids start far lower, then appended to. The log must go on in
// append order, read once from position 0, verify as a chain, and the read
// models carried over in the dump and brought up to date from their
// restored checkpoints must equal read models rebuilt from the whole
// restored log. Budget: about 30 s, most of it initdb and two server starts.
func TestRestoreDrill(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()

	// The network's commands: two thirds go to the old cluster, the rest
	// after the restore.
	var cmds []dataset.Command
	if _, err := dataset.Generate(dataset.Config{Scale: 0.002, Seed: 16}, func(c dataset.Command) error {
		cmds = append(cmds, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, after := cmds[:len(cmds)*2/3], cmds[len(cmds)*2/3:]

	// The old cluster: its 64-bit transaction ids start at 3 << 32.
	src := pgtest.NewCluster(t, pgtest.ClusterOptions{XidEpoch: 3})
	poolA := src.Pool(t)
	var nextA int64
	if err := poolA.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&nextA); err != nil {
		t.Fatal(err)
	}
	if nextA < 3<<32 {
		t.Fatalf("precondition: the old cluster's next transaction id is %d, want >= 3<<32 (pg_resetwal -e 3)", nextA)
	}
	migrate(t, poolA)
	if err := catalog.EnsureLive(ctx, poolA); err != nil {
		t.Fatal(err)
	}
	storeA := postgres.NewStore(poolA)
	defer storeA.Close()
	appended := drillAppend(t, storeA, poolA, before, "a")
	for _, name := range catalog.Names() {
		if _, err := catalog.Rebuild(ctx, poolA, storeA, name, catalog.RebuildOptions{}); err != nil {
			t.Fatalf("build %s in the old cluster: %v", name, err)
		}
	}
	chainer := postgres.NewChainer(poolA, postgres.ChainerConfig{Key: []byte("drill")})
	if _, err := chainer.Chain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chainer.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	restored := len(appended)
	restoredHead := appended[restored-1].Position
	dump := filepath.Join(src.Dir, "kaiku.dump")
	src.Run(t, "pg_dump", "--format=custom", "--file="+dump, "--dbname="+src.URL)

	// The new cluster, fresh: its transaction ids are far below the
	// restored log's.
	dst := pgtest.NewCluster(t, pgtest.ClusterOptions{})
	// pg_restore runs as the old cluster's owner, who can read the dump.
	src.Run(t, "pg_restore", "--exit-on-error", "--no-owner", "--dbname="+dst.URL, dump)
	poolB := dst.Pool(t)
	var nextB int64
	if err := poolB.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&nextB); err != nil {
		t.Fatal(err)
	}
	if nextB<<20 >= int64(restoredHead) {
		t.Fatalf("precondition: the new cluster's next transaction id %d (position %d) is not below the restored log's head %d", nextB, nextB<<20, restoredHead)
	}
	migrate(t, poolB)
	off, raises, err := postgres.Epoch(ctx, poolB)
	if err != nil {
		t.Fatal(err)
	}
	if len(raises) != 1 || off <= 0 {
		t.Fatalf("after migrating the restored log: epoch %d, raises %+v; want one raise", off, raises)
	}
	storeB := postgres.NewStore(poolB)
	defer storeB.Close()
	appended = append(appended, drillAppend(t, storeB, poolB, after, "b")...)

	// Global order is append order.
	for i := 1; i < len(appended); i++ {
		if appended[i].Position <= appended[i-1].Position {
			t.Fatalf("append %d (%s/%d) got position %d, not after %d", i, appended[i].Stream, appended[i].Version,
				appended[i].Position, appended[i-1].Position)
		}
	}
	// A reader from 0 sees every event once, in that order.
	var read []domain.Record
	for at := domain.Position(0); ; {
		page, err := storeB.ReadAll(ctx, at, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		read = append(read, page...)
		at = page[len(page)-1].Position
	}
	if len(read) != len(appended) {
		t.Fatalf("a reader from 0 read %d events, %d were appended", len(read), len(appended))
	}
	for i := range read {
		if read[i].ID != appended[i].ID || read[i].Position != appended[i].Position {
			t.Fatalf("event %d read as %s at %d, appended as %s at %d", i, read[i].ID, read[i].Position, appended[i].ID, appended[i].Position)
		}
	}
	// The chain goes on from the restored links and verifies, seals and all.
	chainer = postgres.NewChainer(poolB, postgres.ChainerConfig{Key: []byte("drill")})
	if _, err := chainer.Chain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chainer.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Verify(ctx, poolB, []byte("drill"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstBad != nil || rep.Events != int64(len(appended)) || rep.Chained != rep.Events || rep.Sealed != rep.Events || rep.Seals != 2 {
		t.Fatalf("audit verify after the restore: %+v (first bad %+v); want %d events chained and sealed under 2 seals", rep, rep.FirstBad, len(appended))
	}

	// The read models restored with the dump carry on from their
	// checkpoints over the new events...
	carryOn(t, poolB, storeB, appended[len(appended)-1].Position)
	// ...and equal read models rebuilt from the restored log.
	for _, name := range catalog.Names() {
		built, err := catalog.Rebuild(ctx, poolB, storeB, name, catalog.RebuildOptions{})
		if err != nil {
			t.Fatalf("rebuild %s from the restored log: %v", name, err)
		}
		if built.Events != int64(len(appended)) {
			t.Errorf("rebuild %s read %d events, want %d", name, built.Events, len(appended))
		}
		compareSchemas(t, poolB, built.Previous, built.Version.Schema)
	}
	t.Logf("drill: %d events (%d restored), epoch offset %d, %s", len(appended), restored, off, time.Since(start).Round(time.Millisecond))
}

func migrate(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := postgres.Migrate(t.Context(), pool, nil); err != nil {
		t.Fatal(err)
	}
}

// drillAppend sends cmds through the command handler on store, and
// appends events of no known type by every other path of the store (a
// multi-record append, batches by COPY and by INSERT, an append inside a
// transaction), returning what was stored in append order.
func drillAppend(t *testing.T, store *postgres.Store, pool *pgxpool.Pool, cmds []dataset.Command, tag string) []domain.Record {
	t.Helper()
	ctx := t.Context()
	var out []domain.Record
	add := func(rs []domain.Record, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
	}
	h := command.New(store)
	for i, c := range cmds {
		res, err := dataset.Apply(ctx, h, c)
		if err != nil {
			t.Fatalf("%T on %s: %v", c.Cmd, c.On, err)
		}
		if len(res.Records) == 0 {
			t.Fatalf("%T on %s appended nothing", c.Cmd, c.On)
		}
		out = append(out, res.Records...)
		if i == len(cmds)/2 {
			add(store.Append(ctx, domain.StreamID("drill-"+tag+"-1"), domain.NoStream, eventstoretest.NewRecords(1, 5)...))
			add(store.AppendBatch(ctx, []domain.StreamAppend{
				{Stream: domain.StreamID("drill-" + tag + "-2"), Expected: domain.NoStream, Records: eventstoretest.NewRecords(10, 3)},
				{Stream: domain.StreamID("drill-" + tag + "-3"), Expected: domain.NoStream, Records: eventstoretest.NewRecords(20, 3)},
			}))
			add(postgres.NewStoreInsertBatches(pool).AppendBatch(ctx, []domain.StreamAppend{
				{Stream: domain.StreamID("drill-" + tag + "-4"), Expected: domain.NoStream, Records: eventstoretest.NewRecords(30, 2)},
				{Stream: domain.StreamID("drill-" + tag + "-5"), Expected: domain.NoStream, Records: eventstoretest.NewRecords(40, 2)},
			}))
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			add(store.AppendTx(ctx, tx, domain.StreamID("drill-"+tag+"-6"), domain.NoStream, eventstoretest.NewRecords(50, 2)...))
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// carryOn runs the projections of every served read-model version from
// their checkpoints until each has applied the log up to head.
func carryOn(t *testing.T, pool *pgxpool.Pool, store *postgres.Store, head domain.Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	vs, err := catalog.Serving(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]projections.Projection, 0, len(vs))
	for _, v := range vs {
		p, err := catalog.Projection(v, nil)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	r, err := projections.NewRunner(projections.Config{DB: pool, Store: store}, ps...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for {
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		caught := 0
		for _, s := range st {
			if s.Failure != nil {
				t.Fatalf("projection %s failed at %d: %s", s.Name, s.Failure.Position, s.Failure.Error)
			}
			if s.Position == head {
				caught++
			}
		}
		if caught == len(st) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("projections did not reach %d: %+v", head, st)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// compareSchemas fails t unless every table of schema a holds the same rows
// as the table of the same name in schema b.
func compareSchemas(t *testing.T, pool *pgxpool.Pool, a, b string) {
	t.Helper()
	ctx := t.Context()
	tables := func(schema string) []string {
		rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	ta, tb := tables(a), tables(b)
	if len(ta) == 0 || !slices.Equal(ta, tb) {
		t.Fatalf("schemas %s and %s have tables %v and %v", a, b, ta, tb)
	}
	for _, tab := range ta {
		var only []string
		q := fmt.Sprintf(`SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM (
			(SELECT '%[1]s: ' || t::text AS x FROM %[1]s.%[3]s t EXCEPT ALL SELECT '%[1]s: ' || t::text FROM %[2]s.%[3]s t)
			UNION ALL
			(SELECT '%[2]s: ' || t::text FROM %[2]s.%[3]s t EXCEPT ALL SELECT '%[2]s: ' || t::text FROM %[1]s.%[3]s t)) d`,
			a, b, tab)
		if err := pool.QueryRow(ctx, q).Scan(&only); err != nil {
			t.Fatalf("compare %s: %v", tab, err)
		}
		if len(only) > 0 {
			t.Errorf("read model table %s differs between the carried-over %s and the rebuilt %s (%d rows, first: %s)",
				tab, a, b, len(only), only[0])
		}
	}
}
