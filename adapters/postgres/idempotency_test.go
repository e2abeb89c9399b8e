package postgres_test

import (
	"context"
	"errors"
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
	rows, err := pool.Query(ctx, `SELECT key FROM idempotency_keys`)
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
	if n != 1 || len(left) != 1 || left[0] != "running" {
		t.Fatalf("Purge() removed %d, left %v; want the finished answer gone and the running claim kept", n, left)
	}
}
