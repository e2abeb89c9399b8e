package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

// A transaction left open holds the cluster-wide fence: on a cluster of
// its own, so that no other test stalls, the fence reports the events it
// holds back and names the backend, then lets go when it ends.
func TestFenceNamesTheTransactionHoldingItBack(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCluster(t, pgtest.ClusterOptions{})
	pool := c.Pool(t)
	ctx := t.Context()
	migrate(t, pool)
	s := postgres.NewStore(pool)
	defer s.Close()
	metrics := prometheus.NewPedanticRegistry()
	metrics.MustRegister(postgres.NewFenceCollector(pool))
	// gauges reads the two fence gauges as "events=N seconds=0" or
	// "seconds=>0" (the wait is not exact).
	gauges := func() string {
		t.Helper()
		mfs, err := metrics.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			if len(mf.GetMetric()) != 1 {
				t.Fatalf("%s has %d series", mf.GetName(), len(mf.GetMetric()))
			}
			got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		if len(got) != 2 {
			t.Fatalf("gathered %v; want the two fence gauges", got)
		}
		secs := "0"
		if got["kaiku_log_fence_lag_seconds"] > 0 {
			secs = ">0"
		}
		return fmt.Sprintf("events=%v seconds=%s", got["kaiku_log_fence_lag_events"], secs)
	}

	if _, err := s.Append(ctx, "card-F-1", domain.NoStream, eventstoretest.NewRecords(1, 2)...); err != nil {
		t.Fatal(err)
	}
	f, err := postgres.ReadFence(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if f.HeldEvents != 0 || f.HeldFor != 0 || f.Holder != nil || f.Position <= f.Newest {
		t.Fatalf("no transaction open: fence %+v; want nothing held, the fence above the newest event", f)
	}
	if got := gauges(); got != "events=0 seconds=0" {
		t.Fatalf("metrics with nothing held: %s", got)
	}

	// An operator's forgotten transaction: it wrote (took a transaction
	// id) and went idle.
	cfg, err := pgx.ParseConfig(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "forgotten-begin"
	holder, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	var pid int
	if err := holder.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	held, err := s.Append(ctx, "card-F-2", domain.NoStream, eventstoretest.NewRecords(10, 3)...)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	f, err = postgres.ReadFence(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if f.HeldEvents != 3 || f.HeldFor < 50*time.Millisecond || f.Position > held[0].Position || f.Newest != held[2].Position {
		t.Fatalf("fence %+v; want the 3 events appended after the open transaction held back for >= 50ms", f)
	}
	h := f.Holder
	if h == nil || h.PID != pid || h.Application != "forgotten-begin" || h.State != "idle in transaction" ||
		h.Database != "postgres" || h.User != "postgres" || h.OpenFor < 50*time.Millisecond {
		t.Fatalf("holder %+v; want pid %d, forgotten-begin, idle in transaction, open >= 50ms", h, pid)
	}
	if s, want := f.String(), fmt.Sprintf(`(3 events) by backend pid %d (application_name "forgotten-begin", database postgres, user postgres, idle in transaction), its transaction open`, pid); !strings.Contains(s, want) {
		t.Fatalf("the fence reads %q; want it to contain %q", s, want)
	}
	if s, want := f.Summary(), fmt.Sprintf(`(3 events) by backend pid %d (application_name "forgotten-begin"), its transaction open`, pid); !strings.Contains(s, want) {
		t.Fatalf("the fence's summary reads %q; want it to contain %q", s, want)
	}
	if got := gauges(); got != "events=3 seconds=>0" {
		t.Fatalf("metrics while held: %s", got)
	}
	if rs, err := s.ReadAll(ctx, 0, 10); err != nil || len(rs) != 2 {
		t.Fatalf("readers got %d events, %v; want the 2 below the fence", len(rs), err)
	}

	if _, err := holder.Exec(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	f, err = postgres.ReadFence(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if f.HeldEvents != 0 || f.Holder != nil || f.Position <= held[2].Position {
		t.Fatalf("after the transaction ended: fence %+v; want it released", f)
	}
	if got := gauges(); got != "events=0 seconds=0" {
		t.Fatalf("metrics after release: %s", got)
	}
	if rs, err := s.ReadAll(ctx, 0, 10); err != nil || len(rs) != 5 {
		t.Fatalf("readers got %d events, %v; want all 5", len(rs), err)
	}
}

func TestConfigureSessionsBoundsIdleTransactions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ query, want string }{
		{"", "1min kaiku"},
		{"&idle_in_transaction_session_timeout=5000&application_name=ops", "5s ops"},
	} {
		cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t) + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		postgres.ConfigureSessions(cfg)
		pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = pool.QueryRow(t.Context(), `SELECT current_setting('idle_in_transaction_session_timeout') || ' ' || current_setting('application_name')`).Scan(&got)
		pool.Close()
		if err != nil || got != tc.want {
			t.Errorf("with %q: idle_in_transaction_session_timeout and application_name = %q, %v; want %s", tc.query, got, err, tc.want)
		}
	}
}
