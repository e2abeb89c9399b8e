package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

func TestAuthenticationRefusesBadKeys(t *testing.T) {
	t.Parallel()
	var seen domain.Principal
	e := newEnv(t, httpapi.Config{AuthCacheTTL: -1, Routes: []httpapi.Route{{
		Method: "GET", Pattern: "/v1/whoami", Roles: allRoles,
		Handler: func(w http.ResponseWriter, r *http.Request) error {
			seen, _ = httpapi.PrincipalFrom(r.Context())
			return ok(w, r)
		},
	}}})
	good := e.key(t, coordinator)
	revoked, revokedID, err := e.keys.Create(context.Background(), national, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Revoke(context.Background(), revokedID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		header string
		status int
	}{
		{"a request without a key is unauthenticated", "", 401},
		{"a basic credential is unauthenticated", "Basic dXNlcjpwdw==", 401},
		{"an empty bearer is unauthenticated", "Bearer ", 401},
		{"a malformed key is unauthenticated", "Bearer not-a-key", 401},
		{"a wrong secret is unauthenticated", "Bearer " + good[:len(good)-1] + "x", 401},
		{"a revoked key is unauthenticated", "Bearer " + revoked, 401},
		{"a valid key passes", "Bearer " + good, 200},
		{"the scheme is case-insensitive", "bearer " + good, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, "GET", "/v1/whoami", "", "", "Authorization", tc.header)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.status == 401 {
				if a.prob.Code != "unauthenticated" || a.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("401 without code or challenge: %+v %v", a.prob, a.header)
				}
				return
			}
			if seen.Role != domain.RoleCoordinator || seen.Locality != "espoo" || seen.KeyID == "" {
				t.Fatalf("handler saw principal %+v", seen)
			}
		})
	}
}

func TestAuthenticationCacheHonoursRevocationAfterTTL(t *testing.T) {
	t.Parallel()
	// With the cache off a revocation applies to the very next request;
	// with it on, a cached key keeps working until its entry expires.
	cases := []struct {
		name       string
		ttl        int64 // seconds; -1 disables
		wantStatus int
	}{
		{"without a cache a revoked key fails at once", -1, 401},
		{"with a cache a revoked key works until the entry expires", 3600, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ttl := -1 * time.Second
			if tc.ttl > 0 {
				ttl = time.Duration(tc.ttl) * time.Second
			}
			e := newEnv(t, httpapi.Config{AuthCacheTTL: ttl, Routes: []httpapi.Route{{Method: "GET", Pattern: "/x", Roles: allRoles, Handler: ok}}})
			k, id, err := e.keys.Create(context.Background(), national, "t")
			if err != nil {
				t.Fatal(err)
			}
			if a := e.do(t, "GET", "/x", k, ""); a.status != 200 {
				t.Fatalf("first request: %d", a.status)
			}
			if err := e.keys.Revoke(context.Background(), id); err != nil {
				t.Fatal(err)
			}
			if a := e.do(t, "GET", "/x", k, ""); a.status != tc.wantStatus {
				t.Fatalf("after revocation: %d, want %d", a.status, tc.wantStatus)
			}
		})
	}
}
