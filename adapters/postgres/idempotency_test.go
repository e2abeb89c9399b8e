package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
)

func TestIdempotencyBeginCompleteReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.NewIdempotency(pgtest.NewPool(t))
	req := postgres.IdempotentRequest{Principal: "national#k_1", Key: "abc", Method: "POST", Path: "/v1/x", Hash: []byte{1, 2, 3}}

	claim, stored, err := store.Begin(ctx, req)
	if err != nil || claim == "" || stored != nil {
		t.Fatalf("first Begin() = %q, %v, %v; want a claim", claim, stored, err)
	}
	if _, _, err := store.Begin(ctx, req); !errors.Is(err, postgres.ErrIdempotencyInProgress) {
		t.Fatalf("Begin() while running = %v, want ErrIdempotencyInProgress", err)
	}
	want := postgres.StoredResponse{Status: 201, ContentType: "application/json", Location: "/v1/x/1", Body: []byte(`{"position":7}`)}
	if err := store.Complete(ctx, req, claim, want); err != nil {
		t.Fatalf("Complete(): %v", err)
	}
	if err := store.Complete(ctx, req, claim, want); err == nil {
		t.Fatal("a second Complete() of one claim should fail")
	}

	cases := []struct {
		name    string
		change  func(r *postgres.IdempotentRequest)
		wantErr error
	}{
		{"the same request gets the stored answer", func(*postgres.IdempotentRequest) {}, nil},
		{"another body is a reused key", func(r *postgres.IdempotentRequest) { r.Hash = []byte{9} }, postgres.ErrIdempotencyKeyReused},
		{"another path is a reused key", func(r *postgres.IdempotentRequest) { r.Path = "/v1/y" }, postgres.ErrIdempotencyKeyReused},
		{"another method is a reused key", func(r *postgres.IdempotentRequest) { r.Method = "PUT" }, postgres.ErrIdempotencyKeyReused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.change(&r)
			claim, got, err := store.Begin(ctx, r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Begin() error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			if claim != "" || got == nil || got.Status != want.Status || got.ContentType != want.ContentType ||
				got.Location != want.Location || string(got.Body) != string(want.Body) {
				t.Fatalf("Begin() = %q, %+v; want the stored %+v", claim, got, want)
			}
		})
	}

	t.Run("another principal's same key is a different request", func(t *testing.T) {
		r := req
		r.Principal = "auditor#k_2"
		claim, got, err := store.Begin(ctx, r)
		if err != nil || claim == "" || got != nil {
			t.Fatalf("Begin() = %q, %v, %v; want a fresh claim", claim, got, err)
		}
	})
}

func TestIdempotencyReleaseLetsARetryRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.NewIdempotency(pgtest.NewPool(t))
	req := postgres.IdempotentRequest{Principal: "national", Key: "k", Method: "POST", Path: "/p", Hash: []byte{1}}
	claim, _, err := store.Begin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Release(ctx, req, claim); err != nil {
		t.Fatal(err)
	}
	again, stored, err := store.Begin(ctx, req)
	if err != nil || again == "" || again == claim || stored != nil {
		t.Fatalf("Begin() after Release = %q, %v, %v; want a new claim", again, stored, err)
	}
	if err := store.Complete(ctx, req, claim, postgres.StoredResponse{Status: 200}); err == nil {
		t.Fatal("Complete() with the released claim should fail")
	}
}

func TestIdempotencyConcurrentBeginsClaimOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.NewIdempotency(pgtest.NewPool(t))
	req := postgres.IdempotentRequest{Principal: "national", Key: "race", Method: "POST", Path: "/p", Hash: []byte{1}}
	const n = 8
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		claims, inFlight int
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claim, _, err := store.Begin(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && claim != "":
				claims++
			case errors.Is(err, postgres.ErrIdempotencyInProgress):
				inFlight++
			default:
				t.Errorf("Begin() = %q, %v", claim, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if claims != 1 || inFlight != n-1 {
		t.Fatalf("%d claims and %d in-progress answers, want 1 and %d", claims, inFlight, n-1)
	}
}

func TestIdempotencyPurgeKeepsRunningClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewIdempotency(pool)
	done := postgres.IdempotentRequest{Principal: "national", Key: "done", Method: "POST", Path: "/p", Hash: []byte{1}}
	running := done
	running.Key = "running"
	claim, _, err := store.Begin(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Complete(ctx, done, claim, postgres.StoredResponse{Status: 201}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Begin(ctx, running); err != nil {
		t.Fatal(err)
	}
	n, err := store.Purge(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := pool.Query(ctx, `SELECT encode(key_hash, 'hex') FROM idempotency_keys`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	runningHash := sha256.Sum256([]byte("running"))
	if n != 1 || len(left) != 1 || left[0] != hex.EncodeToString(runningHash[:]) {
		t.Fatalf("Purge() removed %d, left %v; want the finished answer gone and the running claim kept", n, left)
	}
}

// The table keeps nothing a client typed: the key only as its SHA-256,
// the path without a query string (a path with one is refused).
func TestIdempotencyKeepsAHashOfTheKeyAndNoQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewIdempotency(pool)
	const key = "matti-meikalainen-010171-retry"
	req := postgres.IdempotentRequest{Principal: "issuer@espoo-sos-1#k_1", Key: key, Method: "POST", Path: "/v1/cards", Hash: []byte{1}}
	claim, _, err := store.Begin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Complete(ctx, req, claim, postgres.StoredResponse{Status: 201, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, got, err := store.Begin(ctx, req); err != nil || got == nil {
		t.Fatalf("a retry = %v, %v; want the stored answer found by the key's hash", got, err)
	}
	withQuery := req
	withQuery.Key, withQuery.Path = "other", "/v1/cards?holder=matti"
	if _, _, err := store.Begin(ctx, withQuery); err == nil {
		t.Fatal("a path with a query string was accepted")
	}
	var row string
	if err := pool.QueryRow(ctx, `SELECT string_agg(t::text, ' ') FROM idempotency_keys t`).Scan(&row); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"matti", "010171", "?"} {
		if strings.Contains(strings.ToLower(row), bad) {
			t.Errorf("the idempotency table holds %q: %s", bad, row)
		}
	}
	sum := sha256.Sum256([]byte(key))
	if !strings.Contains(row, hex.EncodeToString(sum[:])) {
		t.Errorf("the row %s does not hold the key's SHA-256", row)
	}
}

// The service deletes rows older than its retention by itself
// (RunPurger), and keeps younger ones.
func TestIdempotencyPurgerDeletesRowsPastRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewIdempotency(pool, postgres.WithRetention(30*time.Hour))
	if store.Retention() != 30*time.Hour {
		t.Fatalf("retention %v, want 30h", store.Retention())
	}
	if postgres.NewIdempotency(pool, postgres.WithRetention(time.Minute)).Retention() != postgres.MinIdempotencyRetention {
		t.Fatal("a retention below the promised 24 hours was taken")
	}
	for _, k := range []string{"old", "young"} {
		req := postgres.IdempotentRequest{Principal: "national", Key: k, Method: "POST", Path: "/p", Hash: []byte{1}}
		claim, _, err := store.Begin(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Complete(ctx, req, claim, postgres.StoredResponse{Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	old := sha256.Sum256([]byte("old"))
	if _, err := pool.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '31 hours' WHERE key_hash = $1`, old[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '29 hours' WHERE key_hash <> $1`, old[:]); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- store.RunPurger(runCtx, time.Hour, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	var n int
	for {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left []byte
	if err := pool.QueryRow(ctx, `SELECT key_hash FROM idempotency_keys`).Scan(&left); err != nil || n != 1 || string(left) == string(old[:]) {
		t.Fatalf("%d rows left (%v): want only the row younger than the retention", n, err)
	}
}
