package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/personal"
)

func TestServeRefusesToStartWithoutAMasterKey(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/none"}, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "no master key") || !strings.Contains(errOut, "--demo") {
		t.Fatalf("serve without a master key: exit %d, stderr %q; want 1 naming KAIKU_MASTER_KEY and --demo", code, errOut)
	}
	_, bad := personal.NewMasterKey()
	code, _, errOut = runCLI(t, map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/none", "KAIKU_MASTER_KEY": bad[:40]}, "serve")
	if code != 1 || !strings.Contains(errOut, "master key: want 64 hex characters") || strings.Contains(errOut, bad[:40]) {
		t.Fatalf("serve with a short master key: exit %d, stderr %q", code, errOut)
	}
}

// contactRows is a read model's contact rows as text, for comparing two
// versions.
func contactRows(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT concat_ws('|', partner, subject, name, email, phone, from_on, to_on) FROM `+
		pgx.Identifier{schema, "contacts"}.Sanitize()+` ORDER BY partner, from_on, subject`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func liveSchema(t *testing.T, pool *pgxpool.Pool, model string) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(t.Context(), `SELECT schema_name FROM read_model_versions WHERE read_model = $1 AND state = 'live'`, model).Scan(&s); err != nil {
		t.Fatalf("live schema of %s: %v", model, err)
	}
	return s
}

func TestPersonalEraseThroughTheCLI(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	_, master := personal.NewMasterKey()
	t.Log("generated a master key for this test")
	plain := map[string]string{"DATABASE_URL": url}
	envs := map[string]string{"DATABASE_URL": url, "KAIKU_MASTER_KEY": master}
	run := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("kaiku %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	run(plain, "seed", "--scale", "0.002") // written before sealing existed
	if out := run(envs, "personal", "seal"); !strings.Contains(out, "personal parts sealed") {
		t.Fatalf("personal seal: %s", out)
	}
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var subject, name, email string
	if err = pool.QueryRow(t.Context(), `SELECT personal_subject FROM events
		WHERE personal_subject LIKE 'contact:%' ORDER BY position LIMIT 1`).Scan(&subject); err != nil {
		t.Fatal(err)
	}
	var access struct {
		Parts []struct {
			Position int64
			Event    string
			Personal struct{ Name, Email string }
		}
	}
	if err := json.Unmarshal([]byte(run(envs, "personal", "show", "--subject", subject)), &access); err != nil {
		t.Fatal(err)
	}
	if len(access.Parts) == 0 || access.Parts[0].Personal.Name == "" || access.Parts[0].Event == "" {
		t.Fatalf("subject access of %s: %+v", subject, access)
	}
	name, email = access.Parts[0].Personal.Name, access.Parts[0].Personal.Email
	run(envs, "rebuild", "contacts")
	run(envs, "rebuild", "network")
	before := liveSchema(t, pool, "contacts")
	if rows := strings.Join(contactRows(t, pool, before), "\n"); !strings.Contains(rows, name) {
		t.Fatalf("the live contacts lack %s before erasure", subject)
	}

	_, wrong := personal.NewMasterKey()
	code, _, errOut := runCLI(t, map[string]string{"DATABASE_URL": url, "KAIKU_MASTER_KEY": wrong}, "personal", "erase", "--subject", subject, "--reason", "subject_request")
	if code != 1 || !strings.Contains(errOut, "wrong master key") {
		t.Fatalf("erase under a wrong master key: exit %d, %s", code, errOut)
	}
	if out := run(envs, "personal", "erase", "--subject", subject, "--reason", "subject_request"); !strings.Contains(out, "erased "+subject) {
		t.Fatalf("erase: %s", out)
	}
	for _, v := range []string{name, email} {
		if v == "" {
			continue
		}
		var n int
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM (
			SELECT 1 FROM events e WHERE strpos(e::text, $1) > 0
			UNION ALL SELECT 1 FROM personal_keys k WHERE strpos(k::text, $1) > 0 OR strpos(k::text, $2) > 0) x`, v, hex.EncodeToString([]byte(v))).Scan(&n)
		if err != nil || n != 0 {
			t.Errorf("%d rows of the log still hold an erased value (%v)", n, err)
		}
	}
	// Rebuilt after the erasure, the contacts read model equals the
	// live one the erasure scrubbed.
	live := contactRows(t, pool, before)
	run(envs, "rebuild", "contacts")
	after := liveSchema(t, pool, "contacts")
	if after == before {
		t.Fatal("rebuild did not switch")
	}
	if got, want := strings.Join(contactRows(t, pool, after), "\n"), strings.Join(live, "\n"); got != want {
		t.Errorf("rebuild after erasure differs from the scrubbed live read model:\n got  %s\n want %s", got, want)
	}
	if strings.Contains(strings.Join(live, "\n"), name) {
		t.Errorf("the scrubbed read model still names %s", subject)
	}
	// Redact a partner's name (as if a person's name had been typed there).
	var joined, other int64
	if err = pool.QueryRow(t.Context(), `SELECT min(position), max(position) FROM events WHERE type = 'partner.joined'`).Scan(&joined, &other); err != nil {
		t.Fatal(err)
	}
	if out := run(envs, "redact", "--position", strconv.FormatInt(joined, 10), "--field", "/name", "--reason", "mistake"); !strings.Contains(out, "redacted /name") {
		t.Fatalf("redact: %s", out)
	}
	// Seal until the chain reaches the redaction: other tests' open
	// transactions may hold the server-wide fence for a moment.
	var out string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		run(envs, "audit", "seal")
		code, o, _ := runCLI(t, plain, "audit", "verify") // an auditor needs no master key
		if out = o; code != 3 || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(out, "OK: all ") || !strings.Contains(out, "erasures: 1") ||
		!strings.Contains(out, "subject "+subject) || !strings.Contains(out, "reason subject_request") ||
		!strings.Contains(out, "redactions: 1") || !strings.Contains(out, fmt.Sprintf("position %d: field /name redacted", joined)) {
		t.Fatalf("audit verify after erasure and redaction:\n%s", out)
	}
	// A field replaced as a redaction would, but with no redaction recorded.
	var data string
	if err = pool.QueryRow(t.Context(), `SELECT data::text FROM events WHERE position = $1`, other).Scan(&data); err != nil {
		t.Fatal(err)
	}
	forged, _, err := audit.Redact([]byte(data), "/name")
	if err != nil {
		t.Fatal(err)
	}
	if _, err = pool.Exec(t.Context(), `UPDATE events SET data = $2::text::json WHERE position = $1`, other, string(forged)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, plain, "audit", "verify")
	if code != 1 || !strings.Contains(errOut, "TAMPERED") || !strings.Contains(errOut, fmt.Sprintf("position %d: field /name", other)) {
		t.Fatalf("audit verify after a disguised tamper: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, envs, "personal", "erase", "--subject", subject, "--reason", "because she asked")
	if code != 1 || !strings.Contains(errOut, "is not a reason code") {
		t.Fatalf("erase with free text as reason: exit %d, %s", code, errOut)
	}
}
