package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
)

func runCLI(t *testing.T, getenv map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return getenv[k] }}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := runCLI(t, nil, c.name, "--help")
			if code != 0 {
				t.Fatalf("kaiku %s --help exited %d", c.name, code)
			}
			if !strings.Contains(out, "Usage: kaiku "+c.name) {
				t.Fatalf("kaiku %s --help printed no usage:\n%s", c.name, out)
			}
		})
	}
}

func TestAnUnknownCommandFailsWithTheList(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, nil, "frobnicate")
	if code == 0 || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "migrate") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestMigrateAppliesOnceAndThenNothing(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	envs := map[string]string{"DATABASE_URL": url}
	code, out, errOut := runCLI(t, envs, "migrate")
	if code != 0 || !strings.Contains(errOut, "applied 0001_events.sql") {
		t.Fatalf("first migrate: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, envs, "migrate")
	if code != 0 || !strings.Contains(out, "0 applied") {
		t.Fatalf("second migrate: exit %d\n%s", code, out)
	}
}

func TestMigrateNamesTheFixWhenPostgresIsDown(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, nil, "migrate", "--database-url", "postgres://postgres@127.0.0.1:1/none?connect_timeout=2")
	if code != 1 || !strings.Contains(errOut, "DATABASE_URL") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestSeedIfEmptySeedsOnceAndThenLeavesTheLogAlone(t *testing.T) {
	t.Parallel()
	envs := map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)}
	if code, _, errOut := runCLI(t, envs, "seed", "--if-empty", "--scale", "0.002"); code != 0 || strings.Contains(errOut, "nothing to do") {
		t.Fatalf("first seed: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, envs, "seed", "--if-empty", "--scale", "0.002")
	if code != 0 || !strings.Contains(errOut, "nothing to do") || strings.Contains(out, "seeded") {
		t.Fatalf("second seed: exit %d\n%s\n%s", code, out, errOut)
	}
}
