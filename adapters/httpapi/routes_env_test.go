package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/personal"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/compliance"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// today is the API's clock in these tests.
var today = time.Date(2024, 6, 15, 10, 30, 0, 0, time.UTC)

// Out-of-scope principals: another locality's coordinator, issuer, venue.
var (
	coordinatorVantaa = domain.Principal{Role: domain.RoleCoordinator, Locality: "vantaa"}
	issuerVantaa      = domain.Principal{Role: domain.RoleIssuer, Partner: "vantaa-sos-1"}
	venueVantaa       = domain.Principal{Role: domain.RoleVenue, Partner: "vantaa-hall"}
)

// testViews serves fixed schemas and catches every projection up before
// answering, so a query sees what the commands before it appended.
type testViews struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	runner *projections.Runner
	names  []string
	mu     sync.Mutex
}

func newViews(t testing.TB, pool *pgxpool.Pool, store *postgres.Store) *testViews {
	t.Helper()
	return buildViews(t, pool, store, "")
}

// buildViews makes every read model in schemas named with suffix, so that
// a test can build a second, fresh set beside the live one.
func buildViews(t testing.TB, pool *pgxpool.Pool, store *postgres.Store, suffix string) *testViews {
	t.Helper()
	ctx := context.Background()
	n := func(s string) string { return s + suffix }
	ddl := []string{contacts.DDL(n("contacts_v1")), commitments.DDL(n("commitments_v1")), agreements.DDL(n("agreements_v1")),
		history.DDL(n("history_v1")), compliance.DDL(n("compliance_v1")), network.DDL(n("network_v1")), cards.DDL(n("cards_v1"))}
	for _, s := range ddl {
		if _, err := pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{n("stats_v1"), n("stats_r2022")} {
		if err := stats.CreateSchema(ctx, pool, s); err != nil {
			t.Fatal(err)
		}
	}
	ps := []projections.Projection{stats.New(n("stats_v1")), stats.New(n("stats_r2022"), stats.WithRules(guideline.National2022().Rules)),
		contacts.New(n("contacts_v1")), commitments.New(n("commitments_v1")), agreements.New(n("agreements_v1")),
		history.New(n("history_v1")), compliance.New(n("compliance_v1")), network.New(n("network_v1")), cards.New(n("cards_v1"))}
	r, err := projections.NewRunner(projections.Config{DB: pool, Store: store}, ps...)
	if err != nil {
		t.Fatal(err)
	}
	v := &testViews{pool: pool, store: store, runner: r}
	for _, p := range ps {
		v.names = append(v.names, p.Name())
	}
	return v
}

// sync catches every projection up to the last committed event. The
// store's fence holds back events while any older transaction of the
// cluster is open (other tests' too), so it waits for that, up to a
// minute.
func (v *testViews) sync(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var head int64
	if err := v.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&head); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		behind := false
		for _, n := range v.names {
			if err := v.runner.CatchUp(ctx, n); err != nil {
				return err
			}
			var pos int64
			if err := v.pool.QueryRow(ctx, `SELECT position FROM projection_checkpoints WHERE name = $1`, n).Scan(&pos); err != nil {
				return err
			}
			behind = behind || pos < head
		}
		if !behind {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("projections did not reach position %d: an open transaction holds the log's fence", head)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func view[Q any](v *testViews, ctx context.Context, q Q) (Q, error) { return q, v.sync(ctx) }

func (v *testViews) Stats(ctx context.Context) (*stats.Queries, error) {
	return view(v, ctx, stats.NewQueries(v.pool, "stats_v1"))
}

func (v *testViews) StatsRestated(ctx context.Context, ver guideline.Version) (*stats.Queries, bool, error) {
	if ver != "2022" {
		return nil, false, nil
	}
	q, err := view(v, ctx, stats.NewQueries(v.pool, "stats_r2022"))
	return q, true, err
}

func (v *testViews) StatsAsOf(ctx context.Context, t time.Time) (*stats.Queries, func(context.Context) error, error) {
	return stats.AsOf(ctx, v.pool, v.store, t)
}

func (v *testViews) Contacts(ctx context.Context) (*contacts.Queries, error) {
	return view(v, ctx, contacts.NewQueries(v.pool, "contacts_v1"))
}

func (v *testViews) Commitments(ctx context.Context) (*commitments.Queries, error) {
	return view(v, ctx, commitments.NewQueries(v.pool, "commitments_v1"))
}

func (v *testViews) Agreements(ctx context.Context) (*agreements.Queries, error) {
	return view(v, ctx, agreements.NewQueries(v.pool, "agreements_v1"))
}

func (v *testViews) History(ctx context.Context) (*history.Queries, error) {
	return view(v, ctx, history.NewQueries(v.pool, "history_v1"))
}

func (v *testViews) Compliance(ctx context.Context) (*compliance.Queries, error) {
	return view(v, ctx, compliance.NewQueries(v.pool, "compliance_v1"))
}

func (v *testViews) Network(ctx context.Context) (*network.Queries, error) {
	return view(v, ctx, network.NewQueries(v.pool, "network_v1"))
}

func (v *testViews) Cards(ctx context.Context) (*cards.Queries, error) {
	return view(v, ctx, cards.NewQueries(v.pool, "cards_v1"))
}

// exchange is one recorded answer, for the OpenAPI conformance check.
type exchange struct {
	method, pattern string
	status          int
	contentType     string
	body            []byte
}

// api is the full API over a fresh database.
type api struct {
	pool     *pgxpool.Pool
	store    *postgres.Store
	commands *command.Handler
	server   *httpapi.Server
	url      string
	keys     map[domain.Principal]string
	verify   func(context.Context) (audit.Report, error)
	views    *testViews

	mu        sync.Mutex
	exchanges []exchange
}

// newAPI starts the API; when the test ends, every answer it gave is
// checked against the OpenAPI document (see conform).
func newAPI(t testing.TB) *api {
	t.Helper()
	return newAPIAt(t, today)
}

// newAPIAt is newAPI with the API's clock (and the command handler's)
// stopped at now.
func newAPIAt(t testing.TB, now time.Time) *api {
	t.Helper()
	today := now
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	master, _ := personal.NewMasterKey() // generated for the test
	keyring, err := postgres.NewKeyring(context.Background(), pool, master)
	if err != nil {
		t.Fatal(err)
	}
	store.SealPersonal(keyring)
	a := &api{pool: pool, store: store, keys: map[domain.Principal]string{}}
	a.commands = command.New(store, command.WithRetries(16), command.WithClock(func() time.Time { return today }))
	runner := newViews(t, pool, store)
	a.views = runner
	a.verify = func(ctx context.Context) (audit.Report, error) { return postgres.Verify(ctx, pool, nil) }
	deps := httpapi.Deps{Commands: a.commands, Views: runner, Projections: runner.runner, Now: func() time.Time { return today },
		Verify:   func(ctx context.Context) (audit.Report, error) { return a.verify(ctx) },
		Personal: postgres.NewPersonalData(pool, store)}
	keys := postgres.NewAPIKeys(pool)
	a.server = httpapi.New(httpapi.Config{Keys: keys, Idempotency: postgres.NewIdempotency(pool), Routes: httpapi.Routes(deps)})
	ts := httptest.NewServer(a.record(a.server.Handler()))
	t.Cleanup(ts.Close)
	a.url = ts.URL
	for _, p := range []domain.Principal{national, auditor, coordinator, issuer, venue, coordinatorVantaa, issuerVantaa, venueVantaa} {
		k, _, err := keys.Create(context.Background(), p, "test")
		if err != nil {
			t.Fatal(err)
		}
		a.keys[p] = k
	}
	if tt, ok := t.(*testing.T); ok {
		t.Cleanup(func() { conform(tt, a.server.OpenAPIDocument(), a.recorded()) })
	}
	return a
}

// record wraps h to keep every answer with the route pattern that served
// it (chi fills a route context it finds in the request).
func (a *api) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.NewRouteContext()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)))
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		a.mu.Lock()
		a.exchanges = append(a.exchanges, exchange{method: r.Method, pattern: rctx.RoutePattern(), status: rec.Code,
			contentType: rec.Header().Get("Content-Type"), body: rec.Body.Bytes()})
		a.mu.Unlock()
	})
}

func (a *api) recorded() []exchange {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]exchange(nil), a.exchanges...)
}

// call sends body (a JSON string, or "" for none) as p (the zero
// principal sends no key) with optional header pairs.
func (a *api) call(t testing.TB, p domain.Principal, method, path, body string, headers ...string) answer {
	t.Helper()
	key := ""
	if p.Role != "" {
		key = a.keys[p]
	}
	return send(t, method, a.url+path, key, body, headers...)
}

// must sends the request and fails the test unless it answers want.
func (a *api) must(t testing.TB, want int, p domain.Principal, method, path, body string) answer {
	t.Helper()
	ans := a.call(t, p, method, path, body)
	if ans.status != want {
		t.Fatalf("%s %s as %s = %d %s, want %d", method, path, p, ans.status, ans.body, want)
	}
	return ans
}

// logLength counts the events in the log.
func (a *api) logLength(t testing.TB) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// seed builds the network through the API: guideline 2022; espoo and
// vantaa, each with an approved, committed issuer office and a venue.
func (a *api) seed(t testing.TB) {
	t.Helper()
	g := guideline.National2022()
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		t.Fatal(err)
	}
	a.must(t, 201, national, "POST", "/v1/guidelines",
		`{"version":"2022","adoptedOn":"2021-12-08","effectiveFrom":"2022-01-01","rules":`+string(rules)+`}`)
	for _, l := range []struct{ id, name, muni, issuer, venue string }{
		{"espoo", "Espoo", "049", "espoo-sos-1", "espoo-museum"},
		{"vantaa", "Vantaa", "092", "vantaa-sos-1", "vantaa-hall"},
	} {
		a.must(t, 201, national, "POST", "/v1/localities", `{"id":"`+l.id+`","name":"`+l.name+`","municipalities":["`+l.muni+`"],
			"scope":"national","joinedOn":"2024-01-01","pilot":{"from":"2024-01-01","until":"2024-12-31"}}`)
		a.must(t, 201, national, "POST", "/v1/partners", `{"id":"`+l.issuer+`","locality":"`+l.id+`","name":"Sosiaalitoimisto",
			"kind":"issuer","category":"social","contact":{"name":"Anna Virtanen","email":"anna@example.fi","phone":"+358 40 1"},"joinedOn":"2024-01-15"}`)
		a.must(t, 200, national, "POST", "/v1/partners/"+l.issuer+"/approval", `{"on":"2024-02-01"}`)
		a.must(t, 200, national, "POST", "/v1/partners/"+l.issuer+"/commitments", `{"guidelineVersion":"2022","via":"agreement","on":"2024-01-15"}`)
		a.must(t, 201, national, "POST", "/v1/partners", `{"id":"`+l.venue+`","locality":"`+l.id+`","name":"Museo",
			"kind":"venue","category":"culture","contact":{"name":"Bert Lindqvist","email":"bert@example.fi","phone":"+358 40 2"},"joinedOn":"2024-01-15"}`)
		a.must(t, 200, national, "POST", "/v1/partners/"+l.venue+"/commitments", `{"guidelineVersion":"2022","via":"website","on":"2024-01-15"}`)
	}
}

// issue issues card id at espoo-sos-1 on 2024-03-01.
func (a *api) issue(t testing.TB, id string) {
	t.Helper()
	a.must(t, 201, issuer, "POST", "/v1/cards", `{"id":"`+id+`","issuedOn":"2024-03-01","kind":"personal",
		"holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2}}`)
}

func decodeJSON[T any](t testing.TB, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func postgresKeys(a *api) *postgres.APIKeys { return postgres.NewAPIKeys(a.pool) }
