package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

func TestProblemForMapsEveryErrorKind(t *testing.T) {
	t.Parallel()
	var syntax json.SyntaxError
	jsonSyntax := json.Unmarshal([]byte(`{"a":`), &struct{}{})
	if !errors.As(jsonSyntax, new(*json.SyntaxError)) && jsonSyntax == nil {
		t.Fatalf("setup: %v %v", jsonSyntax, syntax)
	}
	var typed struct {
		N int `json:"n"`
	}
	wrongType := json.Unmarshal([]byte(`{"n":"x"}`), &typed)
	dec := json.NewDecoder(strings.NewReader(`{"x":1}`))
	dec.DisallowUnknownFields()
	unknown := dec.Decode(&typed)

	cases := []struct {
		name   string
		err    error
		status int
		code   string
		field  string
	}{
		{"an invalid input is 400 with its code", domain.Invalidf("bad_postal_code", "holder.postalCode", "must be five digits"), 400, "bad_postal_code", "holder.postalCode"},
		{"a wrapped invalid input keeps its code", fmt.Errorf("issue card: %w", domain.Invalidf("too_young", "holder.birthYear", "x")), 400, "too_young", "holder.birthYear"},
		{"broken JSON is malformed_json", fmt.Errorf("decode: %w", jsonSyntax), 400, "malformed_json", ""},
		{"an unknown field is unknown_field", fmt.Errorf("decode: %w", unknown), 400, "unknown_field", "x"},
		{"a wrong type is wrong_type", fmt.Errorf("decode: %w", wrongType), 400, "wrong_type", "n"},
		{"a violated rule is 422 with its code", domain.Violationf("card_expired", "the card expired on %s", "2024-01-01"), 422, "card_expired", ""},
		{"a version conflict is 409", fmt.Errorf("append: %w", domain.ErrConflict), 409, "version_conflict", ""},
		{"a missing record is 404", fmt.Errorf("card K-1: %w", domain.ErrNotFound), 404, "not_found", ""},
		{"a forbidden act is 403", &domain.Forbidden{Message: "not yours"}, 403, "forbidden", ""},
		{"an oversized body is 413", &http.MaxBytesError{Limit: 10}, 413, "body_too_large", ""},
		{"a request still running is 409", postgres.ErrIdempotencyInProgress, 409, "idempotency_in_progress", ""},
		{"a reused idempotency key is 422", postgres.ErrIdempotencyKeyReused, 422, "idempotency_key_reused", ""},
		{"anything else is 500 internal", errors.New("connection refused"), 500, "internal", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := httpapi.ProblemFor(tc.err)
			if p.Status != tc.status || p.Code != tc.code || p.Field != tc.field {
				t.Fatalf("ProblemFor(%v) = %d %q field %q, want %d %q field %q", tc.err, p.Status, p.Code, p.Field, tc.status, tc.code, tc.field)
			}
			if p.Type != httpapi.ProblemTypeBase+tc.code || p.Title == "" {
				t.Fatalf("problem %+v lacks its type or title", p)
			}
			if tc.status == 500 && strings.Contains(p.Detail, "connection refused") {
				t.Fatalf("a 500 must not leak the error: %q", p.Detail)
			}
		})
	}
}

func TestProblemForListsEveryInvalidField(t *testing.T) {
	t.Parallel()
	err := errors.Join(domain.Invalidf("missing_field", "issuer", "is required"), domain.Invalidf("bad_postal_code", "holder.postalCode", "five digits"))
	p := httpapi.ProblemFor(err)
	if p.Status != 400 || len(p.Errors) != 2 || p.Errors[1].Field != "holder.postalCode" || p.Errors[1].Code != "bad_postal_code" {
		t.Fatalf("ProblemFor(joined) = %+v, want 400 with both fields listed", p)
	}
}

func TestWriteErrorAnswersProblemJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		err     error
		status  int
		wwwAuth bool
	}{
		{"a forbidden act has no challenge", &domain.Forbidden{Message: "no"}, 403, false},
		{"a violated rule has no challenge", domain.Violationf("x", "y"), 422, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			httpapi.WriteError(w, httptest.NewRequest("POST", "/v1/cards", nil), tc.err)
			if w.Code != tc.status || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("WriteError() = %d %q", w.Code, w.Header().Get("Content-Type"))
			}
			if (w.Header().Get("WWW-Authenticate") != "") != tc.wwwAuth {
				t.Fatalf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
			var p httpapi.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tc.status || p.Instance != "/v1/cards" {
				t.Fatalf("body %s: %v", w.Body, err)
			}
		})
	}
}

// PostgreSQL out of reach is the service's state, not the request's
// fault: 503 with Retry-After, never 500.
func TestUnreachableDatabaseIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"a server shutting down", fmt.Errorf("load card: %w", &pgconn.PgError{Code: "57P01"}), 503},
		{"too many connections", &pgconn.PgError{Code: "53300"}, 503},
		{"a lost connection", &pgconn.PgError{Code: "08006"}, 503},
		{"a unique violation is still a failure of ours", &pgconn.PgError{Code: "23505"}, 500},
	} {
		if got := httpapi.ProblemFor(tc.err); got.Status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, got.Status, got.Code, tc.want)
		}
	}

	// A real pool whose server does not answer (nothing listens on port 1).
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/kaiku?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := httpapi.New(httpapi.Config{Keys: postgres.NewAPIKeys(pool), Idempotency: postgres.NewIdempotency(pool),
		Routes: []httpapi.Route{{Method: http.MethodGet, Pattern: "/v1/thing", Roles: allRoles, Handler: ok}}})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ans := send(t, http.MethodGet, ts.URL+"/v1/thing", "kaiku_k1_"+strings.Repeat("ab", 32), "")
	if ans.status != http.StatusServiceUnavailable || ans.prob.Code != "unavailable" || ans.header.Get("Retry-After") == "" {
		t.Fatalf("with PostgreSQL unreachable: %d %s (Retry-After %q), want 503 unavailable with Retry-After",
			ans.status, ans.body, ans.header.Get("Retry-After"))
	}
}
