package main

import (
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
)

func TestRebuildSwitchesAndComparesARestatement(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	envs := map[string]string{"DATABASE_URL": url}
	if code, out, errOut := runCLI(t, envs, "seed", "--scale", "0.002"); code != 0 {
		t.Fatalf("seed: exit %d\n%s\n%s", code, out, errOut)
	}
	steps := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout []string
	}{
		{name: "a rebuild of the statistics switches to version 2 and retires version 1",
			args: []string{"rebuild", "statistics"}, stdout: []string{"stats: stats_v2 is live", "stats_v1 retired"},
			stderr: []string{"rebuild stats:", "events/s"}},
		{name: "a restatement under the 2015 rules differs nowhere, as only the children's ticket age differs and it is not restatable",
			args:   []string{"rebuild", "statistics", "--rules", "2015", "--compare"},
			stdout: []string{"restated under guideline 2015", "no differences: under the rules of guideline 2015"}, noStdout: []string{"change"}},
		{name: "an unknown guideline version lists the versions",
			args: []string{"rebuild", "stats", "--rules", "1999"}, code: 1, stderr: []string{"1999", "known guideline versions: 2015, 2022"}},
		{name: "an unknown read model lists the known ones",
			args: []string{"rebuild", "nope"}, code: 1, stderr: []string{`unknown read model "nope"`, "network", "stats"}},
		{name: "dropping the retired versions drops version 1 only",
			args: []string{"rebuild", "--drop-retired"}, stdout: []string{"dropped stats_v1"}, noStdout: []string{"stats_v2", "stats_r"}},
	}
	for _, st := range steps {
		code, out, errOut := runCLI(t, envs, st.args...)
		if code != st.code {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", st.name, code, st.code, out, errOut)
		}
		for _, w := range st.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", st.name, w, out)
			}
		}
		for _, w := range st.noStdout {
			if strings.Contains(out, w) {
				t.Errorf("%s: stdout has %q:\n%s", st.name, w, out)
			}
		}
		for _, w := range st.stderr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", st.name, w, errOut)
			}
		}
	}
}
