package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

func TestAPIKeysCreateChecksRoleScopes(t *testing.T) {
	t.Parallel()
	keys := postgres.NewAPIKeys(pgtest.NewPool(t))
	cases := []struct {
		name string
		p    domain.Principal
		code string // "" when the key is created
	}{
		{"a national key takes no scope", domain.Principal{Role: domain.RoleNational}, ""},
		{"an auditor key takes no scope", domain.Principal{Role: domain.RoleAuditor}, ""},
		{"a coordinator key names its locality", domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo"}, ""},
		{"an issuer key names its office", domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1"}, ""},
		{"a venue key names its venue", domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum"}, ""},
		{"a coordinator key without a locality is refused", domain.Principal{Role: domain.RoleCoordinator}, "invalid_scope"},
		{"a coordinator key with a partner is refused", domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo", Partner: "x"}, "invalid_scope"},
		{"an issuer key without a partner is refused", domain.Principal{Role: domain.RoleIssuer}, "invalid_scope"},
		{"a venue key with a locality is refused", domain.Principal{Role: domain.RoleVenue, Partner: "v", Locality: "espoo"}, "invalid_scope"},
		{"a national key with a locality is refused", domain.Principal{Role: domain.RoleNational, Locality: "espoo"}, "invalid_scope"},
		{"a system key is refused", domain.System, "invalid_role"},
		{"an unknown role is refused", domain.Principal{Role: "admin"}, "invalid_role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, id, err := keys.Create(context.Background(), tc.p, tc.name)
			if tc.code != "" {
				if got := domain.CodeOf(err); got != tc.code {
					t.Fatalf("Create() error = %v (code %q), want code %q", err, got, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("Create(): %v", err)
			}
			if !strings.HasPrefix(key, "kaiku_"+id+"_") || len(key) != len("kaiku_"+id+"_")+64 {
				t.Fatalf("key %q does not read kaiku_<id>_<64 hex> for id %q", key, id)
			}
			got, err := keys.Authenticate(context.Background(), key)
			if err != nil {
				t.Fatalf("Authenticate(): %v", err)
			}
			want := tc.p
			want.KeyID = id
			if got != want {
				t.Fatalf("Authenticate() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestAPIKeysAuthenticateRefusesBadKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := postgres.NewAPIKeys(pgtest.NewPool(t))
	key, id, err := keys.Create(ctx, domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	other, otherID, err := keys.Create(ctx, domain.Principal{Role: domain.RoleNational}, "revoked")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Revoke(ctx, otherID); err != nil {
		t.Fatal(err)
	}
	flipped := []byte(key)
	if flipped[len(flipped)-1] == '0' {
		flipped[len(flipped)-1] = '1'
	} else {
		flipped[len(flipped)-1] = '0'
	}
	cases := []struct{ name, key string }{
		{"an empty key is refused", ""},
		{"a key without the prefix is refused", strings.TrimPrefix(key, "kaiku_")},
		{"a key with a changed secret is refused", string(flipped)},
		{"a key with a short secret is refused", key[:len(key)-2]},
		{"a key with an unknown id is refused", strings.Replace(key, id, "k_000000000000", 1)},
		{"a key with another key's id is refused", strings.Replace(key, id, otherID, 1)},
		{"a revoked key is refused", other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := keys.Authenticate(ctx, tc.key)
			if !errors.Is(err, postgres.ErrKeyRejected) || !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("Authenticate() error = %v, want ErrKeyRejected wrapping domain.ErrNotFound", err)
			}
		})
	}
}

func TestAPIKeysRevokeAndList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := postgres.NewAPIKeys(pgtest.NewPool(t))
	_, a, err := keys.Create(ctx, domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1"}, "office")
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := keys.Create(ctx, domain.Principal{Role: domain.RoleAuditor}, "audit")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Revoke(ctx, a); err != nil {
		t.Fatalf("Revoke(): %v", err)
	}
	if err := keys.Revoke(ctx, a); err != nil {
		t.Fatalf("revoking twice should be harmless: %v", err)
	}
	if err := keys.Revoke(ctx, "k_ffffffffffff"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Revoke(unknown) = %v, want ErrNotFound", err)
	}
	list, err := keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]bool{}
	for _, k := range list {
		state[k.ID] = k.Revoked()
		if k.Principal.KeyID != k.ID {
			t.Errorf("key %s lists principal %v", k.ID, k.Principal)
		}
	}
	if len(list) != 2 || !state[a] || state[b] {
		t.Fatalf("List() = %+v, want %s revoked and %s valid", list, a, b)
	}
}

func BenchmarkAPIKeysAuthenticate(b *testing.B) {
	ctx := context.Background()
	keys := postgres.NewAPIKeys(pgtest.NewPool(b))
	key, _, err := keys.Create(ctx, domain.Principal{Role: domain.RoleNational}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := keys.Authenticate(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
