package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/natsbus"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/catalog"
)

// scaleOutEnv is a log of synthetic card events in PostgreSQL, a JetStream
// stream of the test's own, and a kaiku binary built for the test.
type scaleOutEnv struct {
	dbURL, busURL string
	bus           natsbus.Config
	pool          *pgxpool.Pool
	store         *postgres.Store
	first, last   domain.Position
	events        int
	bin           string
}

func newScaleOutEnv(tb testing.TB, cards int) *scaleOutEnv {
	tb.Helper()
	nu := os.Getenv("KAIKU_NATS_URL")
	if nu == "" {
		nu = "nats://127.0.0.1:4222"
	}
	pu, _ := url.Parse(nu)
	if c, err := net.DialTimeout("tcp", pu.Host, time.Second); err != nil {
		tb.Skipf("no NATS JetStream at %s (set KAIKU_NATS_URL): %v", nu, err)
	} else {
		c.Close()
	}
	ctx := context.Background()
	e := &scaleOutEnv{dbURL: pgtest.NewDatabase(tb)}
	var err error
	if e.pool, err = pgxpool.New(ctx, e.dbURL); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.pool.Close)
	if _, err := postgres.Migrate(ctx, e.pool, nil); err != nil {
		tb.Fatal(err)
	}
	e.store = postgres.NewStore(e.pool)
	tb.Cleanup(e.store.Close)
	id := uuid.NewString()[:8]
	e.bus = natsbus.Config{Stream: "KAIKU_SCALE_" + id, Prefix: "kaikuscale." + id}
	e.busURL = nu + "?stream=" + e.bus.Stream + "&subject=" + e.bus.Prefix
	nc, err := natsbus.Connect(nu, tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := natsbus.DeleteStream(context.Background(), nc, e.bus); err != nil {
			tb.Error(err)
		}
		nc.Close()
	})
	e.generate(tb, cards)
	e.bin = filepath.Join(tb.TempDir(), "kaiku")
	if out, err := exec.Command("go", "build", "-o", e.bin, ".").CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return e
}

// generate appends the 2022 guideline, four localities and cards, each
// issued and used nine times (one use in fifty cancelled).
func (e *scaleOutEnv) generate(tb testing.TB, cards int) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	enc := func(ev domain.Event) domain.Record {
		rec, err := domain.Encode(ev, domain.Metadata{Principal: domain.System})
		if err != nil {
			tb.Fatal(err)
		}
		return rec
	}
	d := func(s string) domain.Date {
		v, err := domain.ParseDate(s)
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	locs := []locality.ID{"espoo", "kainuu", "vantaa", "turku"}
	batch := []domain.StreamAppend{{Stream: guideline.Stream, Expected: domain.NoStream, Records: []domain.Record{enc(guideline.National2022())}}}
	for i, id := range locs {
		batch = append(batch, domain.StreamAppend{Stream: locality.Stream(id), Expected: domain.NoStream, Records: []domain.Record{enc(locality.Registered{
			ID: id, Name: string(id), Municipalities: []string{fmt.Sprintf("%03d", 100+i)}, Scope: locality.ScopeNational, JoinedOn: d("2020-01-01")})}})
	}
	cats := []string{"culture", "education", "science", "sport"}
	size := 0
	flush := func() {
		out, err := e.store.AppendBatch(ctx, batch)
		if err != nil {
			tb.Fatalf("append: %v", err)
		}
		e.events += len(out)
		e.last = max(e.last, out[len(out)-1].Position)
		if e.first == 0 {
			e.first = out[0].Position
		}
		batch, size = batch[:0], 0
	}
	for c := range cards {
		id := card.ID(fmt.Sprintf("K-%07d", c))
		loc := locs[rng.IntN(len(locs))]
		issuedOn := d("2023-01-01").AddDays(rng.IntN(700))
		recs := []domain.Record{enc(card.Issued{Card: id, Issuer: partner.ID(string(loc) + "-sos-" + fmt.Sprint(rng.IntN(5))), Locality: loc,
			IssuedOn: issuedOn, Kind: card.KindPersonal,
			Holder: card.Holder{BirthYear: 1940 + rng.IntN(66), PostalCode: fmt.Sprintf("%05d", rng.IntN(99999)), MinorChildren: rng.IntN(4)}})}
		for u := range 9 {
			vloc := locs[rng.IntN(len(locs))]
			kind, child := card.UseEvent, 0
			if rng.IntN(5) == 0 {
				kind = card.UseCourse
			} else if rng.IntN(3) == 0 {
				child = 1 + rng.IntN(2)
			}
			use := card.UseID(fmt.Sprintf("u%d", u))
			recs = append(recs, enc(card.UseRecorded{Use: use, Venue: partner.ID(string(vloc) + "-venue-" + fmt.Sprint(rng.IntN(20))),
				VenueLocality: vloc, UsedOn: issuedOn.AddDays(rng.IntN(300)), Category: cats[rng.IntN(len(cats))], Kind: kind, ChildTickets: child}))
			if rng.IntN(50) == 0 {
				recs = append(recs, enc(card.UseCancelled{Use: use, On: issuedOn}))
			}
		}
		batch = append(batch, domain.StreamAppend{Stream: card.Stream(id), Expected: domain.NoStream, Records: recs})
		if size += len(recs); size >= 5000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if h, err := e.store.Head(ctx); err != nil || h >= e.last {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("appended events not readable after 30s")
		}
	}
}

// forward runs a forwarder until the returned stop is called.
func (e *scaleOutEnv) forward(tb testing.TB) (stop func()) {
	tb.Helper()
	server, bus, err := natsbus.ParseURL(e.busURL)
	if err != nil {
		tb.Fatal(err)
	}
	nc, err := natsbus.Connect(server, "forwarder")
	if err != nil {
		tb.Fatal(err)
	}
	f, err := natsbus.NewForwarder(natsbus.ForwarderConfig{Bus: bus, Store: e.store, Pool: e.pool, Conn: nc})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	return func() { cancel(); <-done; nc.Close() }
}

// project starts one `kaiku project` process.
func (e *scaleOutEnv) project(tb testing.TB, name string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(e.bin, "project", "--bus", e.busURL, "--database-url", e.dbURL, "--rebalance", "300ms")
	logf, err := os.Create(filepath.Join(tb.TempDir(), name+".log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if tb.Failed() {
			b, _ := os.ReadFile(logf.Name())
			tb.Logf("%s log (tail):\n%s", name, tail(string(b), 3000))
		}
	})
	return cmd
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// minCheckpoint is the lowest checkpoint of the versions listed, and the
// number of versions.
func (e *scaleOutEnv) minCheckpoint(tb testing.TB, vs []catalog.Version) domain.Position {
	tb.Helper()
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Schema
	}
	var p int64
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT coalesce(min(position), 0), count(*) FROM projection_checkpoints WHERE name = ANY($1)`, names).Scan(&p, &n); err != nil {
		tb.Fatal(err)
	}
	if n < len(vs) {
		return 0
	}
	return domain.Position(p)
}

func (e *scaleOutEnv) waitCaughtUp(tb testing.TB, vs []catalog.Version, until domain.Position) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Minute); e.minCheckpoint(tb, vs) < until; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("read models at %d after 10 minutes, want %d", e.minCheckpoint(tb, vs), until)
		}
	}
}

// fingerprint is md5 over every table of schema, rows in text order.
func (e *scaleOutEnv) fingerprint(tb testing.TB, schema string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`, schema)
	if err != nil {
		tb.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	out := map[string]string{}
	for _, t := range tables {
		var sum string
		var n int64
		q := fmt.Sprintf(`SELECT coalesce(md5(string_agg(x::text, E'\n' ORDER BY x::text)), ''), count(*) FROM %q.%q x`, schema, t)
		if err := e.pool.QueryRow(ctx, q).Scan(&sum, &n); err != nil {
			tb.Fatal(err)
		}
		out[t] = fmt.Sprintf("%d rows %s", n, sum)
	}
	return out
}

// rebuildLocally builds a fresh version of each read model with one
// runner over the PostgreSQL store (the single-process path) and returns
// the new versions by read model, and how long it took.
func (e *scaleOutEnv) rebuildLocally(tb testing.TB) (map[string]catalog.Version, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	fresh := map[string]catalog.Version{}
	var ps []projections.Projection
	for _, name := range catalog.Names() {
		v, err := catalog.Create(ctx, e.pool, name, "")
		if err != nil {
			tb.Fatal(err)
		}
		p, err := catalog.Projection(v, nil)
		if err != nil {
			tb.Fatal(err)
		}
		fresh[name] = v
		ps = append(ps, p)
	}
	r, err := projections.NewRunner(projections.Config{DB: e.pool, Store: e.store}, ps...)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	vs := make([]catalog.Version, 0, len(fresh))
	for _, v := range fresh {
		vs = append(vs, v)
	}
	e.waitCaughtUp(tb, vs, e.last)
	took := time.Since(start)
	cancel()
	<-done
	return fresh, took
}

func TestTwoProjectorProcessesOverJetStreamBuildWhatOneProcessBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 events into every read model three times")
	}
	e := newScaleOutEnv(t, 10_000)
	if e.events < 100_000 {
		t.Fatalf("generated %d events, want at least 100,000", e.events)
	}
	ctx := context.Background()
	if err := catalog.EnsureLive(ctx, e.pool); err != nil {
		t.Fatal(err)
	}
	live, err := catalog.Versions(ctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	defer e.forward(t)()
	a := e.project(t, "a")
	e.project(t, "b")
	// Kill -9 one process midway, then start it again.
	e.waitCaughtUp(t, live, e.first+(e.last-e.first)/2)
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	t.Logf("killed projector a at %v, every read model past the middle of the log", time.Since(start).Round(time.Millisecond))
	a2 := e.project(t, "a2")
	e.waitCaughtUp(t, live, e.last)
	took := time.Since(start)
	t.Logf("%d events through the forwarder and two projector processes (one killed and restarted) into %d read models: %v, %.0f events/s",
		e.events, len(live), took.Round(time.Millisecond), float64(e.events)/took.Seconds())
	if err := a2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a2.Wait(); err != nil {
		t.Errorf("projector a2 did not stop cleanly on SIGTERM: %v", err)
	}

	fresh, local := e.rebuildLocally(t)
	t.Logf("single process over PostgreSQL: %v, %.0f events/s", local.Round(time.Millisecond), float64(e.events)/local.Seconds())
	for _, v := range live {
		t.Run("the "+v.ReadModel+" read model equals a single-process rebuild row for row", func(t *testing.T) {
			got, want := e.fingerprint(t, v.Schema), e.fingerprint(t, fresh[v.ReadModel].Schema)
			if len(want) == 0 {
				t.Fatalf("schema %s has no tables", fresh[v.ReadModel].Schema)
			}
			for table, w := range want {
				if got[table] != w {
					t.Errorf("table %s: scale-out has %s, single process %s", table, got[table], w)
				}
			}
		})
	}
	var parked int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM projection_parked`).Scan(&parked); err != nil || parked != 0 {
		t.Errorf("%d parked events (%v), want none", parked, err)
	}
}

// BenchmarkScaleOut measures end-to-end throughput, from a log already
// appended to every read model caught up, through the forwarder and 1 or 2
// projector processes, against the single-process PostgreSQL path on the
// same log. Run it with -benchtime 1x; KAIKU_BENCH_CARDS sets the size.
func BenchmarkScaleOut(b *testing.B) {
	cards := 5_000
	if s := os.Getenv("KAIKU_BENCH_CARDS"); s != "" {
		fmt.Sscan(s, &cards)
	}
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("processes=%d", procs), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e := newScaleOutEnv(b, cards)
				ctx := context.Background()
				if err := catalog.EnsureLive(ctx, e.pool); err != nil {
					b.Fatal(err)
				}
				live, err := catalog.Versions(ctx, e.pool)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				stop := e.forward(b)
				for p := 0; p < procs; p++ {
					e.project(b, fmt.Sprintf("p%d", p))
				}
				e.waitCaughtUp(b, live, e.last)
				took := time.Since(start)
				stop()
				_, local := e.rebuildLocally(b)
				b.ReportMetric(float64(e.events)/took.Seconds(), "events/s")
				b.ReportMetric(float64(e.events)/local.Seconds(), "local-events/s")
				b.ReportMetric(local.Seconds()/took.Seconds(), "ratio")
			}
		})
	}
}
