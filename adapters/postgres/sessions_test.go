package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

func TestSessionsOpenGetCloseAndEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	keys := postgres.NewAPIKeys(pool)
	sessions := postgres.NewSessions(pool, time.Minute, time.Hour)
	venue := domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum"}
	open := func(t *testing.T) (string, string) {
		key, id, err := keys.Create(ctx, venue, "test")
		if err != nil {
			t.Fatal(err)
		}
		p, err := keys.Authenticate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		token, ses, err := sessions.Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if ses.CSRF == "" || ses.CSRF == token {
			t.Fatalf("csrf token %q", ses.CSRF)
		}
		return token, id
	}

	t.Run("a session acts as its key's principal until closed", func(t *testing.T) {
		token, id := open(t)
		ses, err := sessions.Get(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if want := (domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum", KeyID: id}); ses.Principal != want {
			t.Fatalf("principal %+v, want %+v", ses.Principal, want)
		}
		if d := time.Until(ses.ExpiresAt); d <= 0 || d > 2*time.Minute {
			t.Fatalf("expires in %v, want about the idle time", d)
		}
		if err := sessions.Close(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Get(ctx, token); !errors.Is(err, postgres.ErrNoSession) || !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("after Close: %v", err)
		}
	})
	t.Run("revoking the key ends its sessions at once", func(t *testing.T) {
		token, id := open(t)
		if err := keys.Revoke(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Get(ctx, token); !errors.Is(err, postgres.ErrNoSession) {
			t.Fatalf("after revocation: %v", err)
		}
	})
	t.Run("an expired session is gone and purged", func(t *testing.T) {
		token, _ := open(t)
		if _, err := pool.Exec(ctx, `UPDATE web_sessions SET expires_at = now() - interval '1 second'`); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Get(ctx, token); !errors.Is(err, postgres.ErrNoSession) {
			t.Fatalf("expired: %v", err)
		}
		if n, err := sessions.Purge(ctx); err != nil || n == 0 {
			t.Fatalf("Purge = %d, %v", n, err)
		}
	})
	t.Run("the expiry never slides past the absolute end", func(t *testing.T) {
		token, _ := open(t)
		if _, err := pool.Exec(ctx, `UPDATE web_sessions SET ends_at = now() + interval '5 seconds'`); err != nil {
			t.Fatal(err)
		}
		ses, err := sessions.Get(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(ses.ExpiresAt); d > 6*time.Second {
			t.Fatalf("expires in %v, past the absolute end", d)
		}
	})
	t.Run("malformed and unknown tokens find nothing", func(t *testing.T) {
		for _, tok := range []string{"", "x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			if _, err := sessions.Get(ctx, tok); !errors.Is(err, postgres.ErrNoSession) {
				t.Fatalf("Get(%q) = %v", tok, err)
			}
		}
	})
	t.Run("a principal without a key cannot open a session", func(t *testing.T) {
		if _, _, err := sessions.Open(ctx, venue); err == nil {
			t.Fatal("opened a session without a key")
		}
	})
}
