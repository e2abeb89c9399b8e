package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

// counted is a command route that counts its executions and blocks until
// release is closed, so concurrent retries really overlap it.
func counted(runs *atomic.Int64, release <-chan struct{}, status int) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		n := runs.Add(1)
		if release != nil {
			<-release
		}
		w.Header().Set("Location", "/v1/things/1")
		return httpapi.WriteJSON(w, status, map[string]int64{"run": n})
	}
}

func TestIdempotencyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	var runs, failures atomic.Int64
	e := newEnv(t, httpapi.Config{Routes: []httpapi.Route{
		{Method: "POST", Pattern: "/v1/things", Roles: allRoles, Handler: counted(&runs, nil, http.StatusCreated)},
		{Method: "POST", Pattern: "/v1/broken", Roles: allRoles, Handler: counted(&failures, nil, http.StatusServiceUnavailable)},
	}})
	key := e.key(t, national)
	other := e.key(t, coordinator)

	first := e.do(t, "POST", "/v1/things", key, `{"a":1}`, httpapi.IdempotencyHeader, "k1")
	cases := []struct {
		name     string
		apiKey   string
		path     string
		body     string
		idem     string
		status   int
		code     string
		replayed bool
	}{
		{"a retry gets the first answer without running again", key, "/v1/things", `{"a":1}`, "k1", 201, "", true},
		{"the same key with another body is refused", key, "/v1/things", `{"a":2}`, "k1", 422, "idempotency_key_reused", false},
		{"the same key on another path is refused", key, "/v1/broken", `{"a":1}`, "k1", 422, "idempotency_key_reused", false},
		{"another principal's same key is its own request", other, "/v1/things", `{"a":1}`, "k1", 201, "", false},
		{"a request without a key always runs", key, "/v1/things", `{"a":1}`, "", 201, "", false},
		{"an overlong key is refused", key, "/v1/things", `{"a":1}`, strings.Repeat("k", 256), 400, "invalid_idempotency_key", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := runs.Load()
			var a answer
			if tc.idem == "" {
				a = e.do(t, "POST", tc.path, tc.apiKey, tc.body)
			} else {
				a = e.do(t, "POST", tc.path, tc.apiKey, tc.body, httpapi.IdempotencyHeader, tc.idem)
			}
			if a.status != tc.status || a.prob.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %s", a.status, a.prob.Code, tc.status, tc.code, a.body)
			}
			if got := a.header.Get(httpapi.ReplayedHeader) == "true"; got != tc.replayed {
				t.Fatalf("replayed = %v, want %v", got, tc.replayed)
			}
			if tc.replayed {
				if a.body != first.body || a.header.Get("Location") != "/v1/things/1" || runs.Load() != before {
					t.Fatalf("replay %q (runs %d→%d), first %q", a.body, before, runs.Load(), first.body)
				}
			}
		})
	}

	t.Run("a failed first request is not stored, so its retry runs again", func(t *testing.T) {
		for range 2 {
			if a := e.do(t, "POST", "/v1/broken", key, `{}`, httpapi.IdempotencyHeader, "k2"); a.status != 503 {
				t.Fatalf("status %d", a.status)
			}
		}
		if failures.Load() != 2 {
			t.Fatalf("the failing handler ran %d times, want 2", failures.Load())
		}
	})
}

func TestIdempotencyRunsConcurrentRetriesOnce(t *testing.T) {
	t.Parallel()
	var runs atomic.Int64
	release := make(chan struct{})
	store := &watched{Idempotency: postgres.NewIdempotency(pgtest.NewPool(t))}
	e := newEnv(t, httpapi.Config{Idempotency: store, Routes: []httpapi.Route{
		{Method: "POST", Pattern: "/v1/things", Roles: []domain.Role{domain.RoleNational}, Handler: counted(&runs, release, http.StatusCreated)},
	}})
	key := e.key(t, national)
	const n = 8
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			answers[i] = e.do(t, "POST", "/v1/things", key, `{"a":1}`, httpapi.IdempotencyHeader, "race")
		})
	}
	// Let the first request finish only once every other one has found it
	// in progress, so all eight truly overlap.
	for store.waiting() < n-1 {
		waitABit()
	}
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("the handler ran %d times for %d identical requests, want once", runs.Load(), n)
	}
	replays := 0
	for i, a := range answers {
		if a.status != 201 || a.body != answers[0].body {
			t.Fatalf("answer %d = %d %s, want 201 %s", i, a.status, a.body, answers[0].body)
		}
		if a.header.Get(httpapi.ReplayedHeader) == "true" {
			replays++
		}
	}
	if replays != n-1 {
		t.Fatalf("%d replays, want %d", replays, n-1)
	}
}

// watched is the real PostgreSQL store, noting which requests (by their
// context) it told "still in progress".
type watched struct {
	*postgres.Idempotency
	mu      sync.Mutex
	waiters map[context.Context]bool
}

func (w *watched) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiters)
}

func (w *watched) Begin(ctx context.Context, req postgres.IdempotentRequest) (string, *postgres.StoredResponse, error) {
	c, s, err := w.Idempotency.Begin(ctx, req)
	if errors.Is(err, postgres.ErrIdempotencyInProgress) {
		w.mu.Lock()
		if w.waiters == nil {
			w.waiters = map[context.Context]bool{}
		}
		w.waiters[ctx] = true
		w.mu.Unlock()
	}
	return c, s, err
}
