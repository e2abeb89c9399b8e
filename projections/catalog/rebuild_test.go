package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/catalog"
	"github.com/kaiku/kaiku/projections/stats"
)

// sameRows fails unless every table of read model readModel holds the same
// rows (as multisets) in schemas a and b.
func sameRows(t *testing.T, db catalog.DB, a, b string, tables ...string) {
	t.Helper()
	ctx := context.Background()
	for _, tb := range tables {
		ta, tb2 := pgx.Identifier{a, tb}.Sanitize(), pgx.Identifier{b, tb}.Sanitize()
		var n, diff int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %s),
			(SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) UNION ALL (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s)) d)`,
			ta, ta, tb2, tb2, ta)
		if err := db.QueryRow(ctx, q).Scan(&n, &diff); err != nil {
			t.Fatal(err)
		}
		if diff != 0 {
			t.Errorf("%s.%s and %s.%s differ in %d rows (of %d)", a, tb, b, tb, diff, n)
		}
		if n == 0 && tb != "fixed_rules" && tb != "localities" && tb != "partners" {
			t.Errorf("%s.%s is empty: the comparison proves nothing", a, tb)
		}
	}
}

var statsTables = []string{"cards", "uses", "guideline_versions"}

// freshBuild builds readModel once, alone, in a new schema and returns it.
func freshBuild(t *testing.T, l *synthLog, name string) string {
	t.Helper()
	ctx := context.Background()
	if err := stats.CreateSchema(ctx, l.pool, name); err != nil {
		t.Fatal(err)
	}
	r, err := projections.NewRunner(projections.Config{DB: l.pool, Store: l.store}, stats.New(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// A rebuild beside the live version, with serve's runner tailing the live
// version, events appended during and after the rebuild, and readers
// querying the live version throughout.
func TestARebuildBesideLiveLosesNothingAndNeverFailsAReader(t *testing.T) {
	t.Parallel()
	l := newSynthLog(t)
	l.addCards(1500, 4)
	l.settle()
	ctx := context.Background()
	if err := catalog.EnsureLive(ctx, l.pool); err != nil {
		t.Fatal(err)
	}
	// serve: a runner over the serving versions, restarted on a change, as
	// the supervisor does.
	serve := func(ctx context.Context) (stop func()) {
		vs, err := catalog.Serving(ctx, l.pool)
		if err != nil {
			t.Fatal(err)
		}
		var ps []projections.Projection
		for _, v := range vs {
			if v.ReadModel == catalog.Stats {
				p, err := catalog.Projection(v, nil)
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
		}
		r, err := projections.NewRunner(projections.Config{DB: l.pool, Store: l.store}, ps...)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); r.Run(rctx) }() //nolint:errcheck // Run returns nil when ctx ends
		return func() { cancel(); <-done }
	}
	stopServe := serve(ctx)

	var readErrs, reads atomic.Int64
	var firstErr atomic.Value
	readCtx, stopReading := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for readCtx.Err() == nil {
			s, err := catalog.Live(readCtx, l.pool, catalog.Stats)
			if err == nil {
				_, err = stats.NewQueries(l.pool, s).National(readCtx, 2024)
			}
			if err != nil && readCtx.Err() == nil {
				readErrs.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			reads.Add(1)
		}
	}()
	wg.Add(1)
	appending := make(chan struct{})
	go func() { // events appended while the rebuild runs
		defer wg.Done()
		defer close(appending)
		for range 5 {
			l.addCards(100, 3)
		}
	}()

	var progressed atomic.Int64
	res, err := catalog.Rebuild(ctx, l.pool, l.store, catalog.Stats, catalog.RebuildOptions{
		PageSize: 1000,
		Progress: func(done, target int64, rate float64) { progressed.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	<-appending
	if res.Version.Schema != "stats_v2" || res.Previous != "stats_v1" || res.Version.State != "live" {
		t.Fatalf("rebuilt %+v", res)
	}
	if progressed.Load() == 0 {
		t.Error("the rebuild reported no progress")
	}
	if s, _ := catalog.Live(ctx, l.pool, catalog.Stats); s != "stats_v2" {
		t.Fatalf("live statistics are %q after the switch", s)
	}
	// The supervisor notices the switch and restarts over the new set.
	stopServe()
	stopServe = serve(ctx)
	l.addCards(200, 2) // after the switch
	l.settle()
	stopServe()
	stopReading()
	wg.Wait()

	if n := readErrs.Load(); n != 0 {
		t.Errorf("%d of %d reads of the live version failed; first: %v", n, reads.Load(), firstErr.Load())
	}
	// Catch both up to the end (serve was stopped at some point of the tail).
	for _, s := range []string{"stats_v2"} {
		r, err := projections.NewRunner(projections.Config{DB: l.pool, Store: l.store}, stats.New(s, stats.WithBatchFlush()))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CatchUp(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var cards int64
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM stats_v2.cards`).Scan(&cards); err != nil || cards != int64(l.cards) {
		t.Fatalf("the new version has %d cards, the log %d (%v)", cards, l.cards, err)
	}
	sameRows(t, l.pool, "stats_v2", freshBuild(t, l, "stats_fresh"), statsTables...)

	retired, err := catalog.Retired(ctx, l.pool)
	if err != nil || len(retired) != 1 || retired[0].Schema != "stats_v1" {
		t.Fatalf("retired %+v, %v", retired, err)
	}
	if err := catalog.Drop(ctx, l.pool, "stats_v2"); !errors.Is(err, catalog.ErrNotDroppable) {
		t.Errorf("dropping the live version: %v", err)
	}
	if err := catalog.Drop(ctx, l.pool, "stats_v1"); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := l.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'stats_v1')`).Scan(&exists); err != nil || exists {
		t.Errorf("stats_v1 still exists after Drop (%v)", err)
	}
	if err := catalog.Drop(ctx, l.pool, "stats_v1"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("dropping twice: %v", err)
	}
}

// flaky fails its third Flush, after Handle buffered a page: the batch
// must roll back whole and the retry must give the same rows.
type flaky struct {
	*stats.Projection
	calls int
}

var errFault = errors.New("injected fault")

func (f *flaky) Flush(ctx context.Context, tx pgx.Tx) error {
	f.calls++
	if f.calls == 3 {
		if err := f.Projection.Flush(ctx, tx); err != nil { // the rows are written, then the commit never happens
			return err
		}
		return errFault
	}
	return f.Projection.Flush(ctx, tx)
}

func TestAFaultMidBatchLeavesTheSameRowsAsAFreshBuild(t *testing.T) {
	t.Parallel()
	l := newSynthLog(t)
	l.addCards(600, 4)
	l.settle()
	ctx := context.Background()
	if err := stats.CreateSchema(ctx, l.pool, "stats_flaky"); err != nil {
		t.Fatal(err)
	}
	p := &flaky{Projection: stats.New("stats_flaky", stats.WithBatchFlush())}
	r, err := projections.NewRunner(projections.Config{DB: l.pool, Store: l.store, PageSize: 500}, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx, "stats_flaky"); !errors.Is(err, errFault) {
		t.Fatalf("the first catch-up: %v, want the injected fault", err)
	}
	if err := r.CatchUp(ctx, "stats_flaky"); err != nil {
		t.Fatal(err)
	}
	sameRows(t, l.pool, "stats_flaky", freshBuild(t, l, "stats_fresh"), statsTables...)
}

func TestRebuildErrorsSayWhatIsKnown(t *testing.T) {
	t.Parallel()
	l := newSynthLog(t)
	ctx := context.Background()
	cases := []struct {
		name, model, rules, want string
	}{
		{"an unknown read model lists the known ones", "nope", "", "known: agreements, cards, commitments"},
		{"an unknown guideline version lists the versions", catalog.Stats, "1999", "known guideline versions: 2022"},
		{"rules apply to statistics only", catalog.History, "2022", "only statistics"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := catalog.Rebuild(ctx, l.pool, l.store, c.model, catalog.RebuildOptions{Rules: c.rules})
			if err == nil || !contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A statistics rebuild runs in build mode (no secondary indexes,
// cancellations of uses written by earlier pages deferred to the end): with
// pages so small that most cancellations and corrections land in a later
// page than their use, and cancellations appended long after their use,
// the rebuilt version must hold exactly the rows of a fresh single-shot
// build, with the indexes and tables DDL creates.
func TestABuildModeRebuildEqualsAFreshBuildRowForRow(t *testing.T) {
	t.Parallel()
	l := newSynthLog(t)
	l.addCards(300, 4)
	ctx := context.Background()
	// Late cancellations and corrections, in appends of their own.
	for i := 0; i < 300; i += 7 {
		id := card.ID(fmt.Sprintf("K-%07d", i))
		by, pc := 1950+i%40, fmt.Sprintf("%05d", 10000+i)
		evs := []domain.Event{card.UseCancelled{Use: card.UseID(fmt.Sprint("u", i%4)), On: domain.MustDate("2025-01-01")}}
		if i%2 == 0 {
			evs = append(evs, card.DetailsCorrected{On: domain.MustDate("2025-01-02"), BirthYear: &by, PostalCode: &pc})
		}
		if i%3 == 0 { // a cancellation of a use that was never recorded changes nothing
			evs = append(evs, card.UseCancelled{Use: "u99", On: domain.MustDate("2025-01-03")})
		}
		recs := make([]domain.Record, len(evs))
		for j, ev := range evs {
			recs[j] = l.enc(ev)
		}
		if _, err := l.store.Append(ctx, card.Stream(id), domain.AnyVersion, recs...); err != nil {
			t.Fatal(err)
		}
	}
	l.addCards(50, 3)
	l.settle()
	if err := catalog.EnsureLive(ctx, l.pool); err != nil {
		t.Fatal(err)
	}
	res, err := catalog.Rebuild(ctx, l.pool, l.store, catalog.Stats, catalog.RebuildOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Version.Schema
	fresh := freshBuild(t, l, "stats_fresh")
	sameRows(t, l.pool, s, fresh, statsTables...)
	var cancelled int
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{s, "uses"}.Sanitize()+` WHERE cancelled`).Scan(&cancelled); err != nil {
		t.Fatal(err)
	}
	if cancelled < 43 {
		t.Errorf("%d cancelled uses: the late cancellations were lost", cancelled)
	}
	// The same indexes, tables and persistence as a schema made by DDL.
	shape := func(schema string) string {
		var out string
		if err := l.pool.QueryRow(ctx, `SELECT string_agg(x, '; ' ORDER BY x) FROM (
			SELECT 'index ' || indexname || ' ' || replace(indexdef, schemaname || '.', '') AS x FROM pg_indexes WHERE schemaname = $1
			UNION ALL SELECT 'table ' || c.relname || ' ' || c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND c.relkind = 'r') t`, schema).Scan(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := shape(s), shape(fresh); got != want {
		t.Errorf("the rebuilt schema is\n%s\nDDL makes\n%s", got, want)
	}
}
