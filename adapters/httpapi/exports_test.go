package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

// readCSV checks the export's framing (content type, BOM, ';') and
// returns its records, header first.
func readCSV(t *testing.T, ans answer) [][]string {
	t.Helper()
	if ans.status != 200 || !strings.HasPrefix(ans.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export = %d %s %q", ans.status, ans.header.Get("Content-Type"), ans.body)
	}
	body, ok := strings.CutPrefix(ans.body, "\ufeff")
	if !ok {
		t.Fatalf("no BOM: %q", ans.body[:min(20, len(ans.body))])
	}
	r := csv.NewReader(strings.NewReader(body))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("CSV %q: %v", body, err)
	}
	return recs
}

// readXLSX returns every sheet's rows.
func readXLSX(t *testing.T, ans answer) map[string][][]string {
	t.Helper()
	if ans.status != 200 || ans.header.Get("Content-Type") != httpapi.ContentTypeXLSX {
		t.Fatalf("export = %d %s %q", ans.status, ans.header.Get("Content-Type"), ans.body[:min(200, len(ans.body))])
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(ans.body)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, s := range f.GetSheetList() {
		if out[s], err = f.GetRows(s); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// column returns the values of the column named h.
func column(t *testing.T, recs [][]string, h string) []string {
	t.Helper()
	i := -1
	for j, x := range recs[0] {
		if x == h {
			i = j
		}
	}
	if i < 0 {
		t.Fatalf("no column %q in %q", h, recs[0])
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[i])
	}
	return out
}

func TestExports(t *testing.T) {
	t.Parallel()
	a := deskNetwork(t)
	a.must(t, 201, national, "POST", "/v1/partners", `{"id":"espoo-formula","locality":"espoo","name":"=HYPERLINK(\"http://x\")","kind":"venue","category":"sport",
		"contact":{"name":"@SUM(A1)","email":"f@example.fi","phone":"+358 40 123 4567"},"joinedOn":"2024-01-15"}`)
	t.Run("a list as CSV: BOM, ';', a header row, one row per element; Accept: text/csv does the same", func(t *testing.T) {
		recs := readCSV(t, a.call(t, national, "GET", "/v1/partners?locality=espoo&format=csv", ""))
		if strings.Join(recs[0], "|") != "id|locality|name|kind|category|state|joinedOn|approvedOn|leftOn" {
			t.Fatalf("header = %q", recs[0])
		}
		if got := column(t, recs, "id"); fmt.Sprint(got) != "[espoo-formula espoo-museum espoo-sos-1]" {
			t.Fatalf("ids = %v", got)
		}
		if got := column(t, recs, "approvedOn"); got[2] != "2024-02-01" || got[1] != "" {
			t.Fatalf("approvedOn = %q", got)
		}
		byAccept := a.call(t, national, "GET", "/v1/partners?locality=espoo", "", "Accept", "text/csv")
		if want := a.call(t, national, "GET", "/v1/partners?locality=espoo&format=csv", ""); byAccept.body != want.body {
			t.Fatalf("Accept: text/csv gave %q, want %q", byAccept.body, want.body)
		}
	})
	t.Run("cells a spreadsheet would run as a formula are neutralised, in CSV and XLSX", func(t *testing.T) {
		recs := readCSV(t, a.call(t, national, "GET", "/v1/contacts?locality=espoo&format=csv", ""))
		names, partners := column(t, recs, "name"), column(t, recs, "partnerName")
		if names[0] != "'@SUM(A1)" || partners[0] != `'=HYPERLINK("http://x")` || column(t, recs, "phone")[0] != "'+358 40 123 4567" {
			t.Fatalf("names = %q, partners = %q", names, partners)
		}
		sheets := readXLSX(t, a.call(t, national, "GET", "/v1/contacts?locality=espoo&format=xlsx", ""))
		rows := sheets["kaiku-contacts"]
		if len(rows) != 4 || !strings.Contains(strings.Join(rows[1], "|"), `'=HYPERLINK("http://x")`) {
			t.Fatalf("xlsx = %q", sheets)
		}
	})
	t.Run("suppression applies to exports exactly as to JSON", func(t *testing.T) {
		for _, p := range []domain.Principal{national, coordinator} {
			js := decodeJSON[httpapi.Statistics](t, a.must(t, 200, p, "GET", "/v1/statistics?locality=espoo&groupBy=venue", "").body)
			recs := readCSV(t, a.call(t, p, "GET", "/v1/statistics?locality=espoo&groupBy=venue&format=csv", ""))
			uses := column(t, recs, "adultUses")
			if len(js.Rows) == 0 || len(uses) != len(js.Rows) {
				t.Fatalf("%s: %d JSON rows, CSV %q", p, len(js.Rows), recs)
			}
			for i, r := range js.Rows {
				want := ""
				if r.AdultUses != nil {
					want = fmt.Sprint(*r.AdultUses)
				}
				if uses[i] != want {
					t.Fatalf("%s: row %d adultUses CSV %q, JSON %q", p, i, uses[i], want)
				}
			}
			if p == coordinator && uses[0] != "" || p == national && uses[0] == "" {
				t.Fatalf("%s: adultUses = %q; want suppressed exactly for the coordinator", p, uses)
			}
		}
	})
	t.Run("a paged list exports every row of its filter, page by page", func(t *testing.T) {
		all := decodeJSON[httpapi.HistoryPage](t, a.must(t, 200, national, "GET", "/v1/history?locality=espoo&limit=1000", "").body)
		recs := readCSV(t, a.call(t, national, "GET", "/v1/history?locality=espoo&limit=3&format=csv", ""))
		pos := column(t, recs, "position")
		if len(all.Events) < 10 || len(pos) != len(all.Events) || pos[0] != fmt.Sprint(all.Events[0].Position) || pos[len(pos)-1] != fmt.Sprint(all.Events[len(all.Events)-1].Position) {
			t.Fatalf("exported %d rows, JSON has %d", len(pos), len(all.Events))
		}
		uses := readXLSX(t, a.call(t, venue, "GET", "/v1/uses?limit=1&format=xlsx", ""))["uses"]
		if len(uses) != 3 || uses[0][0] != "id" || uses[1][0] != "u1" || uses[2][0] != "u2" {
			t.Fatalf("uses = %q", uses)
		}
	})
	t.Run("an answer with several lists: a table column in CSV, a sheet each in XLSX", func(t *testing.T) {
		recs := readCSV(t, a.call(t, national, "GET", "/v1/network?locality=espoo&format=csv", ""))
		if recs[0][0] != "table" || fmt.Sprint(column(t, recs, "table")) != "[localities partners partners partners]" {
			t.Fatalf("network CSV = %q", recs)
		}
		sheets := readXLSX(t, a.call(t, national, "GET", "/v1/network?locality=espoo&format=xlsx", ""))
		if len(sheets["localities"]) != 2 || len(sheets["partners"]) != 4 || len(sheets["agreements"]) != 1 {
			t.Fatalf("network sheets = %q", sheets)
		}
		check := readCSV(t, a.call(t, issuer, "GET", "/v1/cards/K-0000001?format=csv", ""))
		if got := column(t, check, "status"); got[0] != "valid" || column(t, check, "background.holder.postalCode")[0] != "02100" {
			t.Fatalf("card check CSV = %q", check)
		}
	})
	t.Run("the national table: every year in one sheet, in the published layout with Finnish and English headers", func(t *testing.T) {
		sheets := readXLSX(t, a.call(t, venue, "GET", "/v1/statistics/national?format=xlsx", ""))
		rows := sheets["kaiku-statistics-national"]
		want := []string{"Vuosi / year", "Rekisteröidyt kortit / cards registered", "Käyttöön otetut kortit / cards taken into use",
			"Aikuisten käyttökerrat: kulttuuri / adult uses: culture"}
		if len(rows) != 2 || fmt.Sprint(rows[0][:4]) != fmt.Sprint(want) || rows[0][len(rows[0])-1] != "Kunnat / municipalities" {
			t.Fatalf("national = %q", rows)
		}
		if rows[1][0] != "2024" || rows[1][1] != "4" || rows[1][2] != "1" || rows[1][3] != "2" {
			t.Fatalf("2024 = %q", rows[1])
		}
		one := readCSV(t, a.call(t, venue, "GET", "/v1/statistics/national/2024?format=csv", ""))
		if len(one) != 2 || one[0][0] != "Vuosi / year" || one[1][0] != "2024" {
			t.Fatalf("one year = %q", one)
		}
	})
	t.Run("a refused request stays a problem; an unknown format is 400", func(t *testing.T) {
		if ans := a.call(t, coordinatorVantaa, "GET", "/v1/partners?locality=espoo&format=csv", ""); ans.status != 403 || ans.prob.Code != "forbidden" {
			t.Fatalf("out of scope: %d %s", ans.status, ans.body)
		}
		if ans := a.call(t, national, "GET", "/v1/partners?format=pdf", ""); ans.status != 400 || ans.prob.Field != "format" {
			t.Fatalf("pdf: %d %s", ans.status, ans.body)
		}
	})
}
