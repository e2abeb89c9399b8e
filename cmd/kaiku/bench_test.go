package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
)

// TestBenchQuickRunsEveryPhase runs `kaiku bench --quick` against the test
// server and checks that it ran: one table with every figure, the same
// figures in the JSON file, numbers that are numbers. It never checks a
// time or a goal.
func TestBenchQuickRunsEveryPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("kaiku bench --quick takes up to a minute; skipped under -short")
	}
	url := pgtest.NewDatabase(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := runCLI(t, map[string]string{"DATABASE_URL": url}, "bench", "--quick", "--json", out,
		"--serve-binary=") // the test binary cannot serve: measure in process
	if code != 0 {
		t.Fatalf("kaiku bench --quick exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rows := []string{
		"batch import of the dataset",
		"single-event appends, 1 writer",
		"single-event appends, 8 writers",
		"HTTP record-use, 8 clients",
		"HTTP record-use p99 latency",
		"rebuild agreements", "rebuild commitments", "rebuild compliance", "rebuild contacts",
		"rebuild history", "rebuild network", "rebuild stats",
		"rebuild cards",
		"query national annual table", "query breakdown by month", "query history page", "query network of", "query card check at a venue",
		"end-to-end lag p50", "end-to-end lag p99",
		"server peak RSS",
	}
	if !strings.Contains(stdout, "| figure | value | baseline | ratio | goal | met? |") {
		t.Fatalf("no table on stdout:\n%s", stdout)
	}
	for _, r := range rows {
		if !strings.Contains(stdout, "| "+r) {
			t.Errorf("the table lacks the row %q:\n%s", r, stdout)
		}
	}
	for _, phase := range []string{"generate", "import", "rebuild", "queries", "http", "lag", "server", "appends"} {
		if !strings.Contains(stderr, "bench: "+phase+" done") {
			t.Errorf("stderr reports no end of phase %s:\n%s", phase, stderr)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("--json wrote nothing: %v", err)
	}
	var rep struct {
		Events  int64 `json:"events"`
		Figures []struct {
			Name  string  `json:"name"`
			Value float64 `json:"value"`
		} `json:"figures"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, b)
	}
	tableRows := strings.Count(stdout, "\n| ") - 1 // minus the header
	if len(rep.Figures) != tableRows || rep.Events == 0 {
		t.Fatalf("JSON has %d figures over %d events, the table %d rows", len(rep.Figures), rep.Events, tableRows)
	}
	for _, f := range rep.Figures {
		if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) || f.Value <= 0 {
			t.Errorf("figure %q = %v, want a positive number", f.Name, f.Value)
		}
	}
	if strings.Contains(stdout, "kaiku_bench_") {
		t.Errorf("the benchmark kept its database without --keep:\n%s", stdout)
	}
}
