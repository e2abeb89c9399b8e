package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
)

func TestExportWritesTheNationalTableAsTheAPIDoes(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	envs := map[string]string{"DATABASE_URL": url}
	for _, args := range [][]string{{"seed", "--scale", "0.002"}, {"rebuild", "stats"}, {"rebuild", "network"}} {
		if code, out, errOut := runCLI(t, envs, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	code, out, errOut := runCLI(t, envs, "export", "national")
	if code != 0 || !strings.HasPrefix(out, "\ufeffVuosi / year;Rekisteröidyt kortit / cards registered;") {
		t.Fatalf("export national: exit %d\n%.300s\n%s", code, out, errOut)
	}
	years := strings.Count(out, "\r\n") - 1
	if years < 2 {
		t.Fatalf("export national has %d years:\n%s", years, out)
	}
	code, out, errOut = runCLI(t, envs, "export", "national", "--year", "2023", "--format", "xlsx")
	if code != 0 {
		t.Fatalf("export national --year 2023 --format xlsx: exit %d\n%s", code, errOut)
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(out)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil || len(rows) != 2 || rows[1][0] != "2023" || rows[0][len(rows[0])-1] != "Kunnat / municipalities" {
		t.Fatalf("xlsx rows = %q, %v", rows, err)
	}
	if code, out, _ := runCLI(t, envs, "export", "localities", "--locality", "savonlinna"); code != 0 || !strings.Contains(out, "savonlinna;Savonlinna;local") {
		t.Fatalf("export localities: exit %d\n%s", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "nope"}, "no table \"nope\""},
		{[]string{"export", "localities", "--year", "2023"}, "leave --year out"},
		{[]string{"export", "national", "--format", "pdf"}, "csv or xlsx"},
	} {
		if code, _, errOut := runCLI(t, envs, tt.args...); code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want it to say %q", tt.args, code, errOut, tt.want)
		}
	}
}
