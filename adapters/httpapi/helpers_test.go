package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

// env is a server over a fresh database with its key and idempotency stores.
type env struct {
	pool   *pgxpool.Pool
	keys   *postgres.APIKeys
	server *httpapi.Server
	url    string
}

func newEnv(t *testing.T, cfg httpapi.Config) *env {
	t.Helper()
	pool := pgtest.NewPool(t)
	e := &env{pool: pool, keys: postgres.NewAPIKeys(pool)}
	if cfg.Keys == nil {
		cfg.Keys = e.keys
	}
	if cfg.Idempotency == nil {
		cfg.Idempotency = postgres.NewIdempotency(pool)
	}
	e.server = httpapi.New(cfg)
	ts := httptest.NewServer(e.server.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func (e *env) key(t *testing.T, p domain.Principal) string {
	t.Helper()
	k, _, err := e.keys.Create(context.Background(), p, "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type answer struct {
	status int
	header http.Header
	body   string
	prob   httpapi.Problem
}

func (e *env) do(t *testing.T, method, path, key, body string, headers ...string) answer {
	t.Helper()
	return send(t, method, e.url+path, key, body, headers...)
}

// send sends body (a JSON string, or "" for none) to url with key as the
// bearer token ("" for none) and optional header pairs, and reads the
// answer, decoding a problem body.
func send(t testing.TB, method, url, key, body string, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		if err := json.Unmarshal(b, &a.prob); err != nil {
			t.Fatalf("problem body %q: %v", b, err)
		}
	}
	return a
}

var (
	national    = domain.Principal{Role: domain.RoleNational}
	auditor     = domain.Principal{Role: domain.RoleAuditor}
	coordinator = domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo"}
	issuer      = domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1"}
	venue       = domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum"}
)

var allRoles = []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleIssuer, domain.RoleVenue, domain.RoleAuditor}

// ok answers 200 {"ok":true}.
func ok(w http.ResponseWriter, _ *http.Request) error {
	return httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func waitABit() { time.Sleep(5 * time.Millisecond) }
