package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/stats"
)

// TestSmallCellAttacks runs a named set of differencing attacks against
// the real API, as every role but national, on a network whose 2024
// figures hold small cells (guideline 2022: threshold 5). Each attack is
// either refused, or the answers it gathers reveal no count between 1 and
// 4 (package disclosure's guarantee), which the test checks by doing the
// arithmetic an attacker would.
func TestSmallCellAttacks(t *testing.T) {
	t.Parallel()
	a := newAPIAt(t, time.Date(2025, 6, 15, 10, 0, 0, 0, time.UTC))
	a.seed(t)
	issueAt := func(p domain.Principal, issuer, id, on string) {
		a.must(t, 201, p, "POST", "/v1/cards", `{"id":"`+id+`","issuer":"`+issuer+`","issuedOn":"`+on+`","kind":"personal",
			"holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2}}`)
	}
	useAt := func(p domain.Principal, card, id, on, category string, child int) {
		a.must(t, 201, p, "POST", "/v1/cards/"+card+"/uses",
			fmt.Sprintf(`{"id":%q,"usedOn":%q,"category":%q,"childTickets":%d}`, id, on, category, child))
	}
	// Espoo: twelve cards in March and one on 27 September; ten culture
	// uses in April (five with a child's ticket), two science uses in
	// May, one use in October. Vantaa: one card, used twice.
	for i := 1; i <= 12; i++ {
		issueAt(issuer, "espoo-sos-1", fmt.Sprintf("K-%07d", i), "2024-03-01")
	}
	issueAt(issuer, "espoo-sos-1", "K-0000013", "2024-09-27")
	for i := 1; i <= 10; i++ {
		useAt(venue, fmt.Sprintf("K-%07d", i), "a", "2024-04-02", "culture", boolInt(i <= 5))
	}
	useAt(venue, "K-0000001", "s1", "2024-05-03", "science", 0)
	useAt(venue, "K-0000002", "s2", "2024-05-03", "science", 0)
	useAt(venue, "K-0000013", "o1", "2024-10-01", "culture", 0)
	issueAt(issuerVantaa, "vantaa-sos-1", "K-0000101", "2024-03-01")
	useAt(venueVantaa, "K-0000101", "v1", "2024-04-05", "sport", 0)
	useAt(venueVantaa, "K-0000101", "v2", "2024-04-06", "sport", 1)

	const year = "from=2024-01-01&to=2024-12-31"
	others := []domain.Principal{coordinator, issuer, venue, auditor}

	t.Run("the national role reads exact figures, the single day included", func(t *testing.T) {
		ans := a.must(t, 200, national, "GET", "/v1/statistics?locality=espoo&from=2024-09-27&to=2024-09-27", "")
		s := decodeJSON[httpapi.Statistics](t, ans.body)
		if len(s.Rows) != 1 || s.Rows[0].CardsRegistered == nil || *s.Rows[0].CardsRegistered != 1 || s.Suppressed {
			t.Fatalf("national's answer %s, want the one registration of 27 September", ans.body)
		}
	})

	refused := []struct{ name, query, code string }{
		{"adjacent ranges: to the 26th", "from=2024-01-01&to=2024-09-26", "period_not_calendar_year"},
		{"adjacent ranges: to the 27th", "from=2024-01-01&to=2024-09-27", "period_not_calendar_year"},
		{"adjacent ranges: the day after", "from=2024-09-28&to=2024-12-31", "period_not_calendar_year"},
		{"nested ranges: a half year inside the year", "from=2024-01-01&to=2024-06-30", "period_not_calendar_year"},
		{"nested ranges: a month inside the year", "from=2024-09-01&to=2024-09-30", "period_not_calendar_year"},
		{"nested ranges: two years around one", "from=2023-01-01&to=2024-12-31", "period_not_calendar_year"},
		{"an open range", "", "period_not_calendar_year"},
		{"the running year, which changes from day to day", "from=2025-01-01&to=2025-12-31", "year_not_ended"},
		{"asOf before a correction", year + "&asOf=2024-01-01T00:00:00Z", "forbidden"},
		{"asOf after a correction", year + "&asOf=2030-01-01T00:00:00Z", "forbidden"},
		{"two rules versions: the 2022 restatement", year + "&rules=2022", "forbidden"},
	}
	for _, at := range refused {
		for _, p := range others {
			t.Run(at.name+" as "+string(p.Role), func(t *testing.T) {
				ans := a.call(t, p, "GET", "/v1/statistics?locality=espoo&groupBy=month&"+at.query, "")
				if ans.prob.Code != at.code {
					t.Fatalf("answer %d %s, want refused with %s", ans.status, ans.body, at.code)
				}
			})
		}
	}
	t.Run("a network-wide breakdown other than by locality is refused to an auditor", func(t *testing.T) {
		ans := a.call(t, auditor, "GET", "/v1/statistics?groupBy=category&"+year, "")
		if ans.status != 403 {
			t.Fatalf("answer %d %s, want 403", ans.status, ans.body)
		}
	})
	t.Run("the national table of the running year is refused", func(t *testing.T) {
		ans := a.call(t, issuer, "GET", "/v1/statistics/national/2025", "")
		if ans.prob.Code != "year_not_ended" {
			t.Fatalf("answer %d %s", ans.status, ans.body)
		}
	})

	// Marginals against totals: everything an auditor (who reads every
	// locality) and a coordinator can ask about 2024, then the attacker's
	// subtraction over every additive relation among the answers.
	stat := func(p domain.Principal, loc string, g stats.GroupBy) []stats.Row {
		t.Helper()
		ans := a.must(t, 200, p, "GET", "/v1/statistics?"+year+"&groupBy="+string(g)+"&locality="+loc, "")
		s := decodeJSON[httpapi.Statistics](t, ans.body)
		if !s.Suppressed {
			t.Fatalf("%s's answer is not suppressed: %s", p, ans.body)
		}
		return s.Rows
	}
	const threshold = 5
	small := func(n int64) bool { return n > 0 && n < threshold }
	cols := []struct {
		name string
		get  func(stats.Row) *int64
	}{
		{"cardsRegistered", func(r stats.Row) *int64 { return r.CardsRegistered }},
		{"adultUses", func(r stats.Row) *int64 { return r.AdultUses }},
		{"childTickets", func(r stats.Row) *int64 { return r.ChildTickets }},
		{"totalUses", func(r stats.Row) *int64 { return r.TotalUses }},
	}
	// recover checks one relation total = Σ parts as an attacker sees it.
	recover := func(t *testing.T, what string, total *int64, parts []*int64) {
		t.Helper()
		for _, p := range parts {
			if p != nil && small(*p) {
				t.Errorf("%s: a part shows the small count %d", what, *p)
			}
		}
		if total == nil {
			return
		}
		if small(*total) {
			t.Errorf("%s: the total shows the small count %d", what, *total)
		}
		rest, hidden := *total, 0
		for _, p := range parts {
			if p == nil {
				hidden++
			} else {
				rest -= *p
			}
		}
		if hidden > 0 && small(rest) {
			t.Errorf("%s: the total minus the shown parts reveals %d hidden in %d cells", what, rest, hidden)
		}
	}
	nat := decodeJSON[stats.PublishedTable](t, a.must(t, 200, issuer, "GET", "/v1/statistics/national/2024", "").body)
	exact := decodeJSON[stats.PublishedTable](t, a.must(t, 200, national, "GET", "/v1/statistics/national/2024", "").body)
	if !nat.Suppressed || exact.Suppressed || *exact.AdultUses != 15 {
		t.Fatalf("national table: %+v to the issuer, %+v to national", nat, exact)
	}
	network := stat(auditor, "", stats.ByLocality)
	natTotals := map[string]*int64{"cardsRegistered": nat.CardsRegistered, "adultUses": nat.AdultUses,
		"childTickets": nat.ChildTickets, "totalUses": nat.TotalUses}
	t.Run("marginals against totals: the national table against the localities", func(t *testing.T) {
		for _, c := range cols {
			var parts []*int64
			for _, r := range network {
				parts = append(parts, c.get(r))
			}
			recover(t, "national "+c.name, natTotals[c.name], parts)
		}
	})
	t.Run("marginals against totals: the national categories against their total and the localities' categories", func(t *testing.T) {
		var adults, children []*int64
		for c := range exact.AdultUsesByCategory {
			adults, children = append(adults, nat.AdultUsesByCategory[c]), append(children, nat.ChildTicketsByCategory[c])
		}
		recover(t, "national adult uses by category", nat.AdultUses, adults)
		recover(t, "national children's tickets by category", nat.ChildTickets, children)
		byCat := map[string][2][]*int64{}
		for _, l := range []string{"espoo", "vantaa"} {
			for _, r := range stat(auditor, l, stats.ByCategory) {
				v := byCat[r.Key]
				v[0], v[1] = append(v[0], r.AdultUses), append(v[1], r.ChildTickets)
				byCat[r.Key] = v
			}
		}
		for c, v := range byCat {
			recover(t, "national adult uses of "+c, nat.AdultUsesByCategory[c], v[0])
			recover(t, "national children's tickets of "+c, nat.ChildTicketsByCategory[c], v[1])
		}
	})
	for _, g := range stats.GroupBys {
		if g == stats.ByLocality {
			continue
		}
		for _, p := range []domain.Principal{coordinator, auditor} {
			t.Run(fmt.Sprintf("marginals against totals: espoo by %s against espoo's total, as %s", g, p.Role), func(t *testing.T) {
				total := stat(p, "espoo", stats.ByLocality)
				rows := stat(p, "espoo", g)
				for _, c := range cols {
					if c.name == "cardsRegistered" && (g == stats.ByVenue || g == stats.ByCategory) {
						continue
					}
					var parts []*int64
					for _, r := range rows {
						parts = append(parts, c.get(r))
					}
					recover(t, string(g)+" "+c.name, c.get(total[0]), parts)
				}
			})
		}
	}
	t.Run("every role but national sees one answer for one question", func(t *testing.T) {
		want := a.must(t, 200, coordinator, "GET", "/v1/statistics?"+year+"&groupBy=month", "").body
		for _, p := range []domain.Principal{issuer, venue} {
			if got := a.must(t, 200, p, "GET", "/v1/statistics?"+year+"&groupBy=month", "").body; got != want {
				t.Errorf("%s sees %s\ncoordinator sees %s", p.Role, got, want)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
