package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/locality"
)

func TestSeedThenAuditSealAndVerifyThenCatchATamper(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	envs := map[string]string{"DATABASE_URL": url}
	if code, out, errOut := runCLI(t, envs, "seed", "--scale", "0.002"); code != 0 || !strings.Contains(errOut, "covers the seeded log") {
		t.Fatalf("seed chains and seals what it wrote: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, envs, "audit", "verify"); code != 0 || !strings.Contains(out, "OK: all") || strings.Contains(out, "against the chain only") {
		t.Fatalf("audit verify right after seed: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx := context.Background()
	// An event appended since: not chained, so not judged, and never "OK".
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool)
	_, err = command.New(store).RegisterLocality(ctx, domain.Metadata{Principal: domain.System},
		command.RegisterLocality{ID: "late", Name: "Late", Municipalities: []string{"999"}, Scope: locality.ScopeNational, JoinedOn: domain.MustDate("2024-01-01")})
	store.Close()
	pool.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, envs, "audit", "verify"); code != 3 || strings.Contains(out, "OK") || !strings.Contains(out, "1 events after position") {
		t.Fatalf("audit verify with an unchained event: exit %d, want 3 and no OK\n%s\n%s", code, out, errOut)
	}
	// The chainer stops at the log's fence while other tests' transactions
	// are open in the cluster, so seal until the event is chained.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if code, out, errOut := runCLI(t, envs, "audit", "seal"); code != 0 {
			t.Fatalf("audit seal: exit %d\n%s\n%s", code, out, errOut)
		}
		code, out, errOut := runCLI(t, envs, "audit", "verify")
		if code == 0 && strings.Contains(out, "OK: all") {
			break
		}
		if code != 3 || time.Now().After(deadline) {
			t.Fatalf("audit verify once sealed: exit %d\n%s\n%s", code, out, errOut)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var pos int64
	if err := conn.QueryRow(ctx, `UPDATE events SET principal = 'national'
		WHERE position = (SELECT position FROM events WHERE type = 'card.use_recorded' ORDER BY position LIMIT 1 OFFSET 5)
		RETURNING position`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, envs, "audit", "verify")
	if code != 1 || !strings.Contains(errOut, "first bad position") || !strings.Contains(errOut, strconv.FormatInt(pos, 10)) {
		t.Fatalf("audit verify after a tamper at %d: exit %d\n%s", pos, code, errOut)
	}
}

func TestTokensCreatePrintsTheKeyAloneOnItsLastLineAndRevokeStopsIt(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	envs := map[string]string{"DATABASE_URL": url}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a partner not in the log", []string{"--role", "issuer", "--partner", "espoo-iss-1"}, "no partner"},
		{"a locality not in the log", []string{"--role", "coordinator", "--locality", "espoo"}, "no locality"},
	} {
		if code, _, errOut := runCLI(t, envs, append([]string{"tokens", "create"}, tc.args...)...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Fatalf("tokens create for %s: exit %d\n%s", tc.name, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, envs, "seed", "--scale", "0.003", "--seed", "11", "--until", "2024-12-31"); code != 0 {
		t.Fatalf("seed: %s", errOut)
	}
	for _, tc := range []struct{ name, role, partner string }{
		{"a venue as an issuer office", "issuer", "espoo-ven-1"},
		{"an issuer office as a venue", "venue", "espoo-iss-1"},
	} {
		if code, _, errOut := runCLI(t, envs, "tokens", "create", "--role", tc.role, "--partner", tc.partner); code == 0 || !strings.Contains(errOut, "cannot hold") {
			t.Fatalf("tokens create for %s: exit %d\n%s", tc.name, code, errOut)
		}
	}
	code, out, errOut := runCLI(t, envs, "tokens", "create", "--role", "issuer", "--partner", "espoo-iss-1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(key, "kaiku_") || strings.Contains(key, " ") {
		t.Fatalf("tokens create: exit %d, last line %q\n%s", code, key, errOut)
	}
	if code, _, errOut := runCLI(t, envs, "tokens", "create", "--role", "coordinator"); code == 0 || !strings.Contains(errOut, "locality") {
		t.Fatalf("a coordinator key without a locality: exit %d\n%s", code, errOut)
	}
	_, list, _ := runCLI(t, envs, "tokens", "list")
	if !strings.Contains(list, "issuer@espoo-iss-1") || strings.Contains(list, key) {
		t.Fatalf("tokens list shows the principal, never the key:\n%s", list)
	}
	parts := strings.Split(key, "_") // kaiku_k_<hex>_<secret>; the id is k_<hex>
	id := parts[1] + "_" + parts[2]
	if code, out, errOut := runCLI(t, envs, "tokens", "revoke", id); code != 0 {
		t.Fatalf("tokens revoke: exit %d\n%s\n%s", code, out, errOut)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.NewAPIKeys(pool).Authenticate(context.Background(), key); err == nil {
		t.Fatal("a revoked key still authenticates")
	}
}
