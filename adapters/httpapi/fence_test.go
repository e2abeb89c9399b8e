package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/contacts"
)

// A transaction left open on the server holds every reader of the log
// back; once it has for longer than the alert time, /readyz fails naming
// its backend and /v1/projections says who holds each projection back.
// The cluster is the test's own: the fence is server wide, and holding it
// on the shared server would stall every other test.
func TestReadyzAndProjectionsNameAStuckFence(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCluster(t, pgtest.ClusterOptions{})
	pool := c.Pool(t)
	ctx := t.Context()
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, contacts.DDL("contacts_v1")); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	runner, err := projections.NewRunner(projections.Config{DB: pool, Store: store}, contacts.New("contacts_v1"))
	if err != nil {
		t.Fatal(err)
	}
	watch := &httpapi.FenceWatch{Read: func(ctx context.Context) (postgres.Fence, error) { return postgres.ReadFence(ctx, pool) },
		Alert: 200 * time.Millisecond}
	keys := postgres.NewAPIKeys(pool)
	srv := httpapi.New(httpapi.Config{Keys: keys, Idempotency: postgres.NewIdempotency(pool),
		Routes: httpapi.Routes(httpapi.Deps{Projections: runner, Fence: watch, Now: time.Now}),
		Ready:  []httpapi.Check{{Name: "fence", Ready: httpapi.FenceReady(watch)}}})
	rec := &api{}
	ts := httptest.NewServer(rec.record(srv.Handler()))
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		// /v1/projections answers as documented, fenceHeldBy included.
		// (/readyz's 503 body is not in the OpenAPI document.)
		var xs []exchange
		for _, x := range rec.recorded() {
			if x.pattern == "/v1/projections" {
				xs = append(xs, x)
			}
		}
		conform(t, srv.OpenAPIDocument(), xs)
	})
	key, _, err := keys.Create(ctx, national, "test")
	if err != nil {
		t.Fatal(err)
	}
	heldBy := func() []*httpapi.FenceHolder {
		t.Helper()
		a := send(t, "GET", ts.URL+"/v1/projections", key, "")
		if a.status != 200 {
			t.Fatalf("/v1/projections: %d %s", a.status, a.body)
		}
		var rows []httpapi.ProjectionStatus
		if err := json.Unmarshal([]byte(a.body), &rows); err != nil {
			t.Fatal(err)
		}
		out := make([]*httpapi.FenceHolder, len(rows))
		for i, r := range rows {
			out[i] = r.FenceHeldBy
		}
		return out
	}

	if _, err := store.Append(ctx, "card-R-1", domain.NoStream, eventstoretest.NewRecords(1, 1)...); err != nil {
		t.Fatal(err)
	}
	if a := send(t, "GET", ts.URL+"/readyz", "", ""); a.status != 200 || !strings.Contains(a.body, `"fence":"ok"`) {
		t.Fatalf("nothing held: /readyz %d %s", a.status, a.body)
	}
	if h := heldBy(); len(h) != 1 || h[0] != nil {
		t.Fatalf("nothing held: /v1/projections names %+v", h)
	}

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
	if _, err := holder.Exec(ctx, `BEGIN; SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "card-R-2", domain.NoStream, eventstoretest.NewRecords(10, 2)...); err != nil {
		t.Fatal(err)
	}
	// Held, but not yet for longer than the alert time.
	if a := send(t, "GET", ts.URL+"/readyz", "", ""); a.status != 200 {
		t.Fatalf("held for less than the alert time: /readyz %d %s", a.status, a.body)
	}
	time.Sleep(300 * time.Millisecond)
	a := send(t, "GET", ts.URL+"/readyz", "", "")
	if want := fmt.Sprintf(`by backend pid %d (application_name \"forgotten-begin\")`, pid); a.status != 503 ||
		!strings.Contains(a.body, `"fence":"failing: readers held back`) || !strings.Contains(a.body, want) {
		t.Fatalf("held: /readyz %d %s; want 503 naming %s", a.status, a.body, want)
	}
	h := heldBy()
	if len(h) != 1 || h[0] == nil || h[0].PID != pid || h[0].ApplicationName != "forgotten-begin" ||
		h[0].State != "idle in transaction" || h[0].HeldEvents != 2 || h[0].HeldSeconds < 0.3 || h[0].OpenSeconds < 0.3 {
		t.Fatalf("held: /v1/projections names %+v; want pid %d, forgotten-begin, 2 events held >= 0.3 s", h[0], pid)
	}

	if _, err := holder.Exec(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if a := send(t, "GET", ts.URL+"/readyz", "", ""); a.status != 200 || !strings.Contains(a.body, `"fence":"ok"`) {
		t.Fatalf("released: /readyz %d %s", a.status, a.body)
	}
	if h := heldBy(); h[0] != nil {
		t.Fatalf("released: /v1/projections still names %+v", h[0])
	}
}
