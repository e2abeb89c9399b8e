package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

// happened is a registered test event, so that the runner's decoding is
// exercised; other test types stay unregistered (Handle gets ev == nil).
type happened struct {
	N int `json:"n"`
}

func (happened) EventName() string { return "projtest.happened.v1" }

func init() { domain.Register[happened]() }

// counter counts events per type into its own table. fail, when set,
// makes Handle fail on an event; calls counts Handle calls.
type counter struct {
	name  string
	fail  atomic.Pointer[func(domain.Record, domain.Event) error]
	calls atomic.Int64
}

func (c *counter) Name() string { return c.name }

func (c *counter) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	c.calls.Add(1)
	if f := c.fail.Load(); f != nil {
		if err := (*f)(rec, ev); err != nil {
			return err
		}
	}
	if rec.Type == "projtest.happened" {
		if _, ok := ev.(happened); !ok {
			return fmt.Errorf("event at %d decoded as %T", rec.Position, ev)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+c.name+` (type, n) VALUES ($1, 1)
		ON CONFLICT (type) DO UPDATE SET n = `+c.name+`.n + 1`, rec.Type)
	return err
}

func (c *counter) Reset(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `DELETE FROM `+c.name)
	return err
}

func (c *counter) failWith(f func(domain.Record, domain.Event) error) { c.fail.Store(&f) }
func (c *counter) heal()                                              { c.fail.Store(nil) }

func newCounter(t *testing.T, pool *pgxpool.Pool, name string) *counter {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `CREATE TABLE `+name+` (type text PRIMARY KEY, n bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &counter{name: name}
}

func counts(t *testing.T, pool *pgxpool.Pool, table string) map[string]int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT type, n FROM `+table)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type env struct {
	pool  *pgxpool.Pool
	store *postgres.Store
	recs  []domain.Record
	truth map[string]int64
}

var types = []string{"projtest.happened", "test.a", "test.b"}

// newEnv appends n events of three types over several streams.
func newEnv(t *testing.T, n int) *env {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	e := &env{pool: pool, store: store, truth: map[string]int64{}}
	e.append(t, n)
	return e
}

func (e *env) append(t testing.TB, n int) {
	t.Helper()
	const streams = 7
	batch := make([]domain.StreamAppend, streams)
	size := 0
	for i := 0; i < n; i++ {
		typ := types[i%len(types)]
		s := &batch[i%streams]
		s.Stream, s.Expected = domain.NewStreamID("s", fmt.Sprint(i%streams)), domain.AnyVersion
		s.Records = append(s.Records, domain.Record{ID: domain.NewEventID(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now().UTC(),
			Principal: domain.System, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
		e.truth[typ]++
		if size++; size == 10_000 || i == n-1 {
			recs, err := e.store.AppendBatch(context.Background(), slices.DeleteFunc(batch, func(s domain.StreamAppend) bool { return len(s.Records) == 0 }))
			if err != nil {
				t.Fatal(err)
			}
			e.recs = append(e.recs, recs...)
			batch, size = make([]domain.StreamAppend, streams), 0
		}
	}
	slices.SortFunc(e.recs, func(a, b domain.Record) int { return cmp.Compare(a.Position, b.Position) })
	// ReadAll's fence is cluster wide: a transaction of a parallel test can
	// hold the new events back for a moment. Wait until they are readable,
	// so that "caught up" means "has seen them".
	last := e.recs[len(e.recs)-1].Position
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		head, err := e.store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if head >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("appended events not readable after 30s (head %d < %d)", head, last)
		}
	}
}

func (e *env) runner(t *testing.T, cfg Config, ps ...Projection) *Runner {
	t.Helper()
	cfg.DB, cfg.Store = e.pool, e.store
	if cfg.Retry.MaxRetries == 0 {
		cfg.Retry = middleware.Retry{MaxRetries: 2, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	}
	r, err := NewRunner(cfg, ps...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) checkpoint(t *testing.T, name string) domain.Position {
	t.Helper()
	var p int64
	if err := e.pool.QueryRow(context.Background(), `SELECT position FROM projection_checkpoints WHERE name = $1`, name).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return domain.Position(p)
}

// sameAsRebuild checks the table against what a fresh rebuild computes
// and against the counts known from appending.
func (e *env) sameAsRebuild(t *testing.T, c *counter) {
	t.Helper()
	got := counts(t, e.pool, c.name)
	if !maps.Equal(got, e.truth) {
		t.Errorf("counts %v, want %v", got, e.truth)
	}
	fresh := newCounter(t, e.pool, c.name+"_fresh")
	if err := e.runner(t, Config{}, fresh).Rebuild(context.Background(), fresh.name); err != nil {
		t.Fatal(err)
	}
	if rebuilt := counts(t, e.pool, fresh.name); !maps.Equal(got, rebuilt) {
		t.Errorf("counts %v differ from a fresh rebuild %v", got, rebuilt)
	}
}

var errInjected = errors.New("injected fault")

func TestExactlyOnceUnderFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		cfg   Config
		fault func(c *counter, cancel context.CancelFunc) func(domain.Record, domain.Event) error
		// wantErr: the first CatchUp fails; the fault is then healed and
		// a second runner catches up.
		wantErr bool
	}{
		{"a handler error mid-batch that clears within the retries counts every event once", Config{PageSize: 64},
			func(c *counter, _ context.CancelFunc) func(domain.Record, domain.Event) error {
				var failures atomic.Int64
				return func(r domain.Record, _ domain.Event) error {
					if c.calls.Load() > 100 && failures.Add(1) <= 2 {
						return errInjected
					}
					return nil
				}
			}, false},
		{"a handler error mid-batch that persists stops the projection before the event", Config{PageSize: 64},
			func(c *counter, _ context.CancelFunc) func(domain.Record, domain.Event) error {
				return func(r domain.Record, _ domain.Event) error {
					if c.calls.Load() > 150 {
						return errInjected
					}
					return nil
				}
			}, true},
		{"a crash mid-batch (the runner's context ends) resumes from the checkpoint", Config{PageSize: 64},
			func(c *counter, cancel context.CancelFunc) func(domain.Record, domain.Event) error {
				return func(r domain.Record, _ domain.Event) error {
					if c.calls.Load() == 170 {
						cancel()
						return context.Canceled
					}
					return nil
				}
			}, true},
		{"a crash in a large page rolls the whole page back", Config{PageSize: 5000},
			func(c *counter, cancel context.CancelFunc) func(domain.Record, domain.Event) error {
				return func(r domain.Record, _ domain.Event) error {
					if c.calls.Load() == 299 {
						cancel()
						return context.Canceled
					}
					return nil
				}
			}, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 300)
			c := newCounter(t, e.pool, fmt.Sprintf("count%d", i))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c.failWith(tc.fault(c, cancel))
			err := e.runner(t, tc.cfg, c).CatchUp(ctx, c.name)
			if (err != nil) != tc.wantErr {
				t.Fatalf("CatchUp: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				// Rows and checkpoint agree: the table holds exactly the
				// events up to the checkpoint.
				cp := e.checkpoint(t, c.name)
				var upto int64
				for _, r := range e.recs {
					if r.Position <= cp {
						upto++
					}
				}
				var sum int64
				for _, n := range counts(t, e.pool, c.name) {
					sum += n
				}
				if sum != upto || upto == int64(len(e.recs)) {
					t.Fatalf("after the failure the table counts %d events, the checkpoint covers %d of %d", sum, upto, len(e.recs))
				}
				c.heal()
				if err := e.runner(t, tc.cfg, c).CatchUp(context.Background(), c.name); err != nil {
					t.Fatal(err)
				}
			}
			if cp, last := e.checkpoint(t, c.name), e.recs[len(e.recs)-1].Position; cp != last {
				t.Errorf("checkpoint %d, want the last position %d", cp, last)
			}
			e.sameAsRebuild(t, c)
		})
	}
}

func TestRedeliveryIsSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50)
	c := newCounter(t, e.pool, "count")
	r := e.runner(t, Config{}, c)
	w := r.byName[c.name]
	if err := r.loadCheckpoint(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		recs []domain.Record
	}{
		{"the first half", e.recs[:25]},
		{"the first half again, as a redelivery", e.recs[:25]},
		{"an overlapping batch", e.recs[20:]},
		{"everything again", e.recs},
	}
	for _, st := range steps {
		if _, err := r.applyBatch(context.Background(), w, st.recs); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	e.sameAsRebuild(t, c)
	if got := c.calls.Load(); got != 50 {
		t.Errorf("Handle ran %d times for 50 events", got)
	}
}

func TestTwoRunnersOfOneProjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2000)
	c := newCounter(t, e.pool, "count")
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- e.runner(t, Config{PageSize: 100}, c).CatchUp(context.Background(), c.name) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	e.sameAsRebuild(t, c)
}

func TestPoisonPolicies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		policy      PoisonPolicy
		wantState   State
		wantSkipped int64
	}{
		{"the stop policy parks the event and fails the projection before it", PoisonStop, StateFailed, 0},
		{"the skip policy parks the event and moves past it", PoisonSkip, StateStopped, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 100)
			poison := e.recs[40]
			c := newCounter(t, e.pool, fmt.Sprintf("count%d", i))
			c.failWith(func(r domain.Record, _ domain.Event) error {
				if r.ID == poison.ID {
					return errInjected
				}
				return nil
			})
			r := e.runner(t, Config{Poison: tc.policy, PageSize: 30}, c)
			err := r.CatchUp(context.Background(), c.name)
			if (err != nil) != (tc.policy == PoisonStop) {
				t.Fatalf("CatchUp: %v", err)
			}
			var id, typ, handler string
			var skipped bool
			if err := e.pool.QueryRow(context.Background(), `SELECT event_id::text, type, handler, skipped
				FROM projection_parked WHERE projection = $1 AND position = $2`, c.name, int64(poison.Position)).
				Scan(&id, &typ, &handler, &skipped); err != nil {
				t.Fatalf("parked row: %v", err)
			}
			if id != string(poison.ID) || typ != poison.Name() || handler != c.name+".OnEvent" || skipped != (tc.policy == PoisonSkip) {
				t.Errorf("parked %s %s %s skipped=%v", id, typ, handler, skipped)
			}
			// A fresh runner (another process) derives the state from the database.
			st, err := e.runner(t, Config{}, c).Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			s := st[0]
			if s.State != tc.wantState || s.Skipped != tc.wantSkipped {
				t.Errorf("status %+v, want state %s, %d skipped", s, tc.wantState, tc.wantSkipped)
			}
			wantPos := e.recs[len(e.recs)-1].Position
			if tc.policy == PoisonStop {
				wantPos = e.recs[39].Position
				if s.Failure == nil || s.Failure.Position != poison.Position || s.LagEvents != 60 {
					t.Errorf("failure %+v, lag %d; want the poison event and 60 events of lag", s.Failure, s.LagEvents)
				}
			}
			if s.Position != wantPos {
				t.Errorf("position %d, want %d", s.Position, wantPos)
			}
			want := maps.Clone(e.truth)
			if tc.policy == PoisonSkip {
				want[poison.Type]--
			} else {
				want = map[string]int64{}
				for _, r := range e.recs[:40] {
					want[r.Type]++
				}
			}
			if got := counts(t, e.pool, c.name); !maps.Equal(got, want) {
				t.Errorf("counts %v, want %v", got, want)
			}
		})
	}
}

// waitFor polls cond until it holds; the deadline bounds a hang, it is
// not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunFollowsTheLogLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	c := newCounter(t, e.pool, "count")
	r := e.runner(t, Config{PageSize: 200, BatchSize: 50}, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	last := func() domain.Position { return e.recs[len(e.recs)-1].Position }
	waitFor(t, "catch-up", func() bool { return r.byName[c.name].pos() == last() })
	for range 5 {
		e.append(t, 37)
	}
	waitFor(t, "live events", func() bool { return r.byName[c.name].pos() == last() })
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := st[0]; s.State != StateRunning || s.LagEvents != 0 || s.Head != last() || s.Handler != "count.OnEvent" {
		t.Errorf("status %+v, want running with no lag at %d", s, last())
	}
	// A poison event in live mode stops the projection; Resume after the
	// fix carries on.
	c.failWith(func(domain.Record, domain.Event) error { return errInjected })
	e.append(t, 3)
	waitFor(t, "the failed state", func() bool { st, _ := r.Status(ctx); return st[0].State == StateFailed })
	c.heal()
	if err := r.Resume(c.name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recovery", func() bool { return r.byName[c.name].pos() == last() })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.sameAsRebuild(t, c)
}

func TestRebuild(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 500)
	c := newCounter(t, e.pool, "count")
	r := e.runner(t, Config{}, c)
	if err := r.CatchUp(context.Background(), c.name); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		damage  string
		fail    bool
		wantErr bool
	}{
		{"a rebuild repairs a damaged read model", `UPDATE count SET n = n + 1000`, false, false},
		{"a failing rebuild leaves the old read model untouched", ``, true, true},
	}
	for _, st := range steps {
		if st.damage != "" {
			if _, err := e.pool.Exec(context.Background(), st.damage); err != nil {
				t.Fatal(err)
			}
		}
		before := counts(t, e.pool, c.name)
		if st.fail {
			c.failWith(func(r domain.Record, _ domain.Event) error {
				if r.ID == e.recs[250].ID {
					return errInjected
				}
				return nil
			})
		}
		err := r.Rebuild(context.Background(), c.name)
		c.heal()
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: Rebuild: %v", st.name, err)
		}
		if st.wantErr {
			var he *HandleError
			if !errors.As(err, &he) || he.Record.ID != e.recs[250].ID {
				t.Errorf("%s: error %v does not name the failing event", st.name, err)
			}
			if got := counts(t, e.pool, c.name); !maps.Equal(got, before) {
				t.Errorf("%s: counts %v, want the old %v", st.name, got, before)
			}
			continue
		}
		e.sameAsRebuild(t, c)
	}
	if err := r.Rebuild(context.Background(), "nope"); !errors.Is(err, ErrUnknownProjection) {
		t.Errorf("Rebuild of an unknown projection: %v", err)
	}
}
