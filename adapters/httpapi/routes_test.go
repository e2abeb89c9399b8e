package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

// Every command route once on its happy path, then every query route
// returns what the commands created.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	coordEspoo := coordinator
	steps := []struct {
		name   string
		p      domain.Principal
		method string
		path   string
		body   string
		status int
		check  func(t *testing.T, r httpapi.CommandResult)
	}{
		{"a coordinator assigns its locality's culture-side coordinator", coordEspoo, "POST", "/v1/localities/espoo/coordinators",
			`{"side":"culture","name":"Cilla Koordinaattori","email":"cilla@example.fi","phone":"+358 9 1","on":"2024-01-10"}`, 200, nil},
		{"a coordinator records a feedback meeting", coordEspoo, "POST", "/v1/localities/espoo/feedback-meetings",
			`{"heldOn":"2024-05-02","participants":14}`, 201, nil},
		{"a coordinator replaces a partner's contact", coordEspoo, "PUT", "/v1/partners/espoo-museum/contact",
			`{"name":"Doris Uusi","email":"doris@example.fi","phone":"+358 40 3","on":"2024-04-01"}`, 200, nil},
		{"a coordinator signs an agreement", coordEspoo, "POST", "/v1/agreements",
			`{"id":"espoo-sos-1-2024","locality":"espoo","partner":"espoo-sos-1","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-01-01","validUntil":"2024-12-31"}`, 201,
			func(t *testing.T, r httpapi.CommandResult) {
				if r.ID != "espoo-sos-1-2024" || r.Stream == "" || r.Version != 1 || r.Position == 0 || len(r.EventIDs) != 1 {
					t.Fatalf("result = %+v", r)
				}
			}},
		{"a coordinator amends the agreement", coordEspoo, "POST", "/v1/agreements/espoo-sos-1-2024/amendments",
			`{"on":"2024-06-01","validUntil":"2025-06-30","note":"pilot extended"}`, 201, nil},
		{"a venue records a use", venue, "POST", "/v1/cards/K-0001234/uses",
			`{"id":"u1","usedOn":"2024-04-02","category":"culture","kind":"event","childTickets":1,"assistant":false}`, 201,
			func(t *testing.T, r httpapi.CommandResult) {
				if r.UseID != "u1" || r.ID != "u1" || r.Stream != "card-K-0001234" && !strings.Contains(string(r.Stream), "K-0001234") {
					t.Fatalf("result = %+v", r)
				}
			}},
		{"a venue records a second use", venue, "POST", "/v1/cards/K-0001234/uses", `{"id":"u2","usedOn":"2024-04-03"}`, 201, nil},
		{"the venue cancels its wrong use", venue, "POST", "/v1/cards/K-0001234/uses/u2/cancellation", `{"reason":"wrong_card"}`, 200, nil},
		{"an issuer corrects a card", issuer, "PATCH", "/v1/cards/K-0001234", `{"minorChildren":3}`, 200, nil},
		{"an issuer renews a card", issuer, "POST", "/v1/cards/K-0001234/renewal", `{"on":"2024-06-01"}`, 200, nil},
		{"an issuer replaces a lost card", issuer, "POST", "/v1/cards/K-0001234/replacement", `{"newCardId":"K-0009999","on":"2024-06-02"}`, 201,
			func(t *testing.T, r httpapi.CommandResult) {
				if r.ID != "K-0009999" || len(r.EventIDs) != 2 {
					t.Fatalf("result = %+v", r)
				}
			}},
		{"an issuer cancels a card", issuer, "POST", "/v1/cards/K-0005555/cancellation", `{"on":"2024-06-03","reason":"moved_away"}`, 200, nil},
		{"the national service adopts a guideline version", national, "POST", "/v1/guidelines",
			`{"version":"2025","adoptedOn":"2024-06-01","effectiveFrom":"2025-01-01","rules":{"minHolderAge":16,"cardValidityMonths":12,"childTicketMaxAge":17,"childTicketsForCourses":false,"smallCellThreshold":5,"categories":["culture","education","science","sport"],"ageBands":[16,25,35,50,65]}}`, 201, nil},
		{"a coordinator terminates the agreement", coordEspoo, "POST", "/v1/agreements/espoo-sos-1-2024/termination", `{"on":"2024-06-10","reason":"replaced_by_new_agreement"}`, 200, nil},
		{"a coordinator records a partner's departure", coordEspoo, "POST", "/v1/partners/espoo-museum/departure", `{"on":"2024-06-14","reason":"closed"}`, 200, nil},
		{"the national service concludes vantaa's pilot", national, "POST", "/v1/localities/vantaa/pilot-conclusion", `{"on":"2024-06-01"}`, 200, nil},
		{"the national service records vantaa leaving", national, "POST", "/v1/localities/vantaa/departure", `{"on":"2024-06-12","reason":"funding_ended"}`, 200, nil},
	}
	a.issue(t, "K-0001234")
	a.issue(t, "K-0005555")
	for _, st := range steps {
		ans := a.must(t, st.status, st.p, st.method, st.path, st.body)
		r := decodeJSON[httpapi.CommandResult](t, ans.body)
		if len(r.EventIDs) == 0 || r.Position == 0 {
			t.Fatalf("%s: result %s names no event", st.name, ans.body)
		}
		if st.check != nil {
			t.Run(st.name, func(t *testing.T) { st.check(t, r) })
		}
	}

	queries := []struct {
		name string
		p    domain.Principal
		path string
		want []string // substrings of the answer
	}{
		{"statistics by category count the uses, the cancelled one nowhere", national, "/v1/statistics?groupBy=category&from=2024-01-01&to=2024-12-31",
			[]string{`"key":"culture"`, `"adultUses":1`, `"childTickets":1`, `"suppressed":false`}},
		{"a coordinator's statistics are its locality's, suppressed", coordEspoo, "/v1/statistics?groupBy=month&from=2023-01-01&to=2023-12-31",
			[]string{`"locality":"espoo"`, `"suppressed":true`}},
		{"restated statistics answer under the 2022 rules", national, "/v1/statistics?groupBy=category&rules=2022", []string{`"rules":"2022"`, `"adultUses":1`}},
		{"statistics as of a record time before anything was recorded are empty", national, "/v1/statistics?asOf=2000-01-01T00:00:00Z", []string{`"rows":[]`, `"asOf":"2000-01-01T00:00:00Z"`}},
		{"the national table has the design's shape", national, "/v1/statistics/national/2024",
			[]string{`"year":2024`, `"cardsRegistered":2`, `"cardsUsed":1`, `"adultUses":1`, `"childTickets":1`, `"totalUses":2`, `"adultUsesByCategory":{`, `"municipalities":`}},
		{"current contacts show the replaced contact", coordEspoo, "/v1/contacts", []string{`"name":"Anna Virtanen"`}},
		{"a partner's contact history keeps both contacts", coordEspoo, "/v1/partners/espoo-museum/contacts/history", []string{"Bert Lindqvist", "Doris Uusi"}},
		{"commitments list the committed partners", coordEspoo, "/v1/commitments?status=committed&on=2024-05-01", []string{`"partner":"espoo-sos-1"`, `"status":"committed"`}},
		{"compliance reports on the locality", national, "/v1/compliance?locality=espoo", []string{`"missingContact":[`, `"noFeedbackMeeting":[`}},
		{"agreements list the signed agreement", coordEspoo, "/v1/agreements", []string{`"id":"espoo-sos-1-2024"`, `"terminatedOn":"2024-06-10"`}},
		{"agreements in force on a date", coordEspoo, "/v1/agreements?inForceOn=2024-03-01", []string{`"id":"espoo-sos-1-2024"`}},
		{"an agreement's timeline shows its life", auditor, "/v1/agreements/espoo-sos-1-2024/timeline", []string{`"signed"`, `"amended"`, `"terminated"`}},
		{"history pages by position", auditor, "/v1/history?locality=espoo&limit=2", []string{`"next":"/v1/history?`, `after=`}},
		{"history filters by type", coordEspoo, "/v1/history?type=card", []string{`"type":"card.issued"`}},
		{"the network on a past date", coordEspoo, "/v1/network?asOf=2024-02-01", []string{`"id":"espoo-museum"`, `"name":"Bert Lindqvist"`}},
		{"audit verification of an untouched log is ok", auditor, "/v1/audit/verify", []string{`"ok":true`}},
		{"projections report their positions", national, "/v1/projections", []string{`"name":"stats_v1"`, `"state":`}},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			ans := a.must(t, 200, q.p, "GET", q.path, "")
			for _, w := range q.want {
				if !strings.Contains(ans.body, w) {
					t.Errorf("GET %s = %s; want it to contain %s", q.path, ans.body, w)
				}
			}
		})
	}
	t.Run("following the history's next links visits every event once", func(t *testing.T) {
		seen, path := map[float64]bool{}, "/v1/history?limit=7"
		for path != "" {
			page := decodeJSON[map[string]any](t, a.must(t, 200, national, "GET", path, "").body)
			for _, e := range page["events"].([]any) {
				pos := e.(map[string]any)["position"].(float64)
				if seen[pos] {
					t.Fatalf("position %v twice", pos)
				}
				seen[pos] = true
			}
			path, _ = page["next"].(string)
		}
		if n := a.logLength(t); len(seen) != n {
			t.Fatalf("visited %d events, the log has %d", len(seen), n)
		}
	})
}

// Bad requests are refused with the right problem, and refused requests
// append nothing.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	a.issue(t, "K-0001234")
	a.must(t, 201, venue, "POST", "/v1/cards/K-0001234/uses", `{"id":"u1","usedOn":"2024-04-02"}`)
	card := `{"id":"K-0002222","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2%s}}`
	tests := []struct {
		name   string
		p      domain.Principal
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"malformed JSON is 400 malformed_json", issuer, "POST", "/v1/cards", `{"id":`, 400, "malformed_json"},
		{"an empty body is 400 malformed_json", national, "POST", "/v1/localities", ``, 400, "malformed_json"},
		{"an unknown field is 400 unknown_field", national, "POST", "/v1/localities", `{"id":"turku","colour":"blue"}`, 400, "unknown_field"},
		{"a wrong JSON type is 400 wrong_type", venue, "POST", "/v1/cards/K-0001234/uses", `{"usedOn":"2024-04-02","childTickets":"two"}`, 400, "wrong_type"},
		{"a malformed date is 400 invalid_value", venue, "POST", "/v1/cards/K-0001234/uses", `{"usedOn":"2.4.2024"}`, 400, "invalid_value"},
		{"a missing card number is 400", issuer, "POST", "/v1/cards", `{"kind":"personal","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2}}`, 400, "missing_field"},
		{"a malformed card number in the path is 400", venue, "POST", "/v1/cards/k%20x/uses", `{"usedOn":"2024-04-02"}`, 400, "invalid_card_number"},
		{"a holder name is refused", issuer, "POST", "/v1/cards", fmt.Sprintf(card, `,"name":"Matti Meikäläinen"`), 400, "personal_data_refused"},
		{"a personal identity code is refused", issuer, "POST", "/v1/cards", fmt.Sprintf(card, `,"lifeSituation":"131052-308T"`), 400, "personal_data_refused"},
		{"a birth date is refused", issuer, "POST", "/v1/cards", fmt.Sprintf(card, `,"dateOfBirth":"1971-05-13"`), 400, "personal_data_refused"},
		{"an address is refused", issuer, "POST", "/v1/cards", fmt.Sprintf(card, `,"address":"Kotikatu 1"`), 400, "personal_data_refused"},
		{"personal data in a correction is refused", issuer, "PATCH", "/v1/cards/K-0001234", `{"hetu":"131052-308T"}`, 400, "personal_data_refused"},
		{"too many children's tickets break a rule: 422", venue, "POST", "/v1/cards/K-0001234/uses", `{"usedOn":"2024-04-02","childTickets":9}`, 422, ""},
		{"a use before issue breaks a rule: 422", venue, "POST", "/v1/cards/K-0001234/uses", `{"usedOn":"2023-04-02"}`, 422, ""},
		{"an unregistered card cannot be used: 422", venue, "POST", "/v1/cards/K-0404040/uses", `{"usedOn":"2024-04-02"}`, 422, "card_not_registered"},
		{"a taken card number breaks a rule: 422", issuer, "POST", "/v1/cards", `{"id":"K-0001234","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2}}`, 422, ""},
		{"a holder below the minimum age breaks a rule: 422", issuer, "POST", "/v1/cards", `{"id":"K-0003333","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":2015,"postalCode":"02100","minorChildren":0}}`, 422, ""},
		{"an unknown card is 404", issuer, "POST", "/v1/cards/K-0404040/renewal", `{}`, 404, "not_found"},
		{"an unknown use is 404", venue, "POST", "/v1/cards/K-0001234/uses/nope/cancellation", `{}`, 404, "not_found"},
		{"an unbuilt restatement is 422 and says how to build it", national, "GET", "/v1/statistics?rules=2019", ``, 422, "restatement_not_built"},
		{"an unknown grouping is 400", national, "GET", "/v1/statistics?groupBy=colour", ``, 400, "invalid_group_by"},
		{"a malformed date parameter is 400", national, "GET", "/v1/network?asOf=yesterday", ``, 400, "invalid_date"},
		{"an out-of-range page size is 400", national, "GET", "/v1/history?limit=100000", ``, 400, "invalid_value"},
		{"a malformed year is 400", national, "GET", "/v1/statistics/national/20x4", ``, 400, "invalid_year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.logLength(t)
			ans := a.call(t, tt.p, tt.method, tt.path, tt.body)
			if ans.status != tt.status || (tt.code != "" && ans.prob.Code != tt.code) || ans.prob.Code == "" {
				t.Fatalf("%s %s = %d %s, want %d %s", tt.method, tt.path, ans.status, ans.body, tt.status, tt.code)
			}
			if after := a.logLength(t); after != before {
				t.Fatalf("a refused request appended %d events", after-before)
			}
			if tt.code == "restatement_not_built" && !strings.Contains(ans.prob.Detail, "kaiku rebuild statistics --rules 2019") {
				t.Fatalf("detail %q does not say how to build it", ans.prob.Detail)
			}
		})
	}
}

// Eight retries of one use with the same Idempotency-Key at once: one
// event, eight identical answers.
func TestIdempotentUseRace(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	a.issue(t, "K-0001234")
	before := a.logLength(t)
	const n = 8
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = a.call(t, venue, "POST", "/v1/cards/K-0001234/uses", `{"usedOn":"2024-04-02","childTickets":1}`, "Idempotency-Key", "use-race-1")
		}()
	}
	wg.Wait()
	for i, ans := range answers {
		if ans.status != 201 || ans.body != answers[0].body {
			t.Fatalf("answer %d = %d %s; answer 0 = %d %s", i, ans.status, ans.body, answers[0].status, answers[0].body)
		}
	}
	if after := a.logLength(t); after != before+1 {
		t.Fatalf("appended %d events, want 1", after-before)
	}
}

// Two venues recording uses of one card at the same moment both succeed:
// the command layer decides again after a version conflict.
func TestConcurrentUsesOfOneCard(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	a.issue(t, "K-0001234")
	a.must(t, 201, national, "POST", "/v1/partners", `{"id":"espoo-sport","locality":"espoo","name":"Uimahalli","kind":"venue","category":"sport",
		"contact":{"name":"Eero","email":"eero@example.fi","phone":"+358 40 5"},"joinedOn":"2024-01-15"}`)
	sport := domain.Principal{Role: domain.RoleVenue, Partner: "espoo-sport"}
	k, _, err := postgresKeys(a).Create(t.Context(), sport, "test")
	if err != nil {
		t.Fatal(err)
	}
	a.keys[sport] = k
	for round := range 5 {
		var wg sync.WaitGroup
		answers := make([]answer, 2)
		for i, p := range []domain.Principal{venue, sport} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = a.call(t, p, "POST", "/v1/cards/K-0001234/uses", fmt.Sprintf(`{"id":"r%d-%d","usedOn":"2024-04-02"}`, round, i))
			}()
		}
		wg.Wait()
		for i, ans := range answers {
			if ans.status != 201 {
				t.Fatalf("round %d venue %d: %d %s", round, i, ans.status, ans.body)
			}
		}
	}
}
