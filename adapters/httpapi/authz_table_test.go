package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

// authzRow is one route's request in and out of scope.
type authzRow struct {
	path, body string
	// outPath/outBody are the same request out of an in-scope principal's
	// reach ("" when the route has no scope to leave, e.g. national only).
	outPath, outBody string
	// ok lists the roles that succeed in scope, with the success status.
	ok map[domain.Role]int
	// headers are sent with every request of the row (a CSV body's type).
	headers []string
}

// TestAuthorisationTable runs every route of the API × every role, in
// and out of scope: 401 without a key, 403 for a role or scope the route
// refuses, the success status otherwise. A route without a row fails.
func TestAuthorisationTable(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	for _, id := range []string{"K-0000001", "K-0000002", "K-0000003", "K-0000004", "K-0000005", "K-0000006"} {
		a.issue(t, id)
	}
	a.must(t, 201, venue, "POST", "/v1/cards/K-0000001/uses", `{"id":"u1","usedOn":"2024-04-02"}`)
	a.must(t, 201, venue, "POST", "/v1/cards/K-0000001/uses", `{"id":"u2","usedOn":"2024-04-02"}`)
	a.must(t, 201, national, "POST", "/v1/agreements", `{"id":"ag-espoo","locality":"espoo","partner":"espoo-sos-1","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-01-01","validUntil":"2024-12-31"}`)
	a.must(t, 201, national, "POST", "/v1/agreements", `{"id":"ag-vantaa","locality":"vantaa","partner":"vantaa-sos-1","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-01-01","validUntil":"2024-12-31"}`)

	a.must(t, 201, issuerVantaa, "POST", "/v1/cards", `{"id":"K-0000099","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":1971,"postalCode":"01300","minorChildren":0}}`)
	a.must(t, 201, venueVantaa, "POST", "/v1/cards/K-0000001/uses", `{"id":"v1","usedOn":"2024-04-02"}`)
	var joinedC2 string // the position of c2's partner.joined, to redact
	for _, p := range []string{"espoo-new", "c1", "c2"} {
		kind := `"kind":"venue","category":"sport"`
		if p == "espoo-new" {
			kind = `"kind":"issuer","category":"ngo"`
		}
		ans := a.must(t, 201, national, "POST", "/v1/partners", `{"id":"`+p+`","locality":"espoo","name":"P",`+kind+`,"contact":{"name":"C","email":"c@example.fi","phone":"+358 40 123 4567"},"joinedOn":"2024-01-15"}`)
		if p == "c2" {
			joinedC2 = strconv.FormatInt(decodeJSON[struct{ Position int64 }](t, ans.body).Position, 10)
		}
	}
	N, C, I, V, A := domain.RoleNational, domain.RoleCoordinator, domain.RoleIssuer, domain.RoleVenue, domain.RoleAuditor
	all := func(s int) map[domain.Role]int { return map[domain.Role]int{N: s, C: s, I: s, V: s, A: s} }
	readers := map[domain.Role]int{N: 200, C: 200, A: 200}
	// Commands that can run only once per target use a fresh target per
	// role: {r} is replaced by a counter.
	rows := map[string]authzRow{
		"POST /v1/localities":                       {path: "/v1/localities", body: `{"id":"loc{r}","name":"L","municipalities":["91{r}"],"scope":"local","joinedOn":"2024-01-01"}`, ok: map[domain.Role]int{N: 201}},
		"POST /v1/localities/{id}/pilot-conclusion": {path: "/v1/localities/espoo/pilot-conclusion", body: `{"on":"2024-05-0{r}"}`, ok: map[domain.Role]int{N: 200}},
		"POST /v1/localities/{id}/departure":        {path: "/v1/localities/loc1/departure", body: `{"on":"2024-06-01","reason":"other"}`, ok: map[domain.Role]int{N: 200}},
		"POST /v1/localities/{id}/coordinators": {path: "/v1/localities/espoo/coordinators", body: `{"side":"social","name":"S","email":"s@example.fi","phone":"+358 40 123 4567","on":"2024-02-01"}`,
			outPath: "/v1/localities/vantaa/coordinators", ok: map[domain.Role]int{N: 200, C: 200}},
		"POST /v1/localities/{id}/feedback-meetings": {path: "/v1/localities/espoo/feedback-meetings", body: `{"heldOn":"2024-05-02","participants":3}`,
			outPath: "/v1/localities/vantaa/feedback-meetings", ok: map[domain.Role]int{N: 201, C: 201}},
		"POST /v1/partners": {path: "/v1/partners", body: `{"id":"p{r}","locality":"espoo","name":"P","kind":"venue","category":"sport","contact":{"name":"C","email":"c@example.fi","phone":"+358 40 123 4567"},"joinedOn":"2024-01-15"}`,
			outBody: `{"id":"q{r}","locality":"vantaa","name":"P","kind":"venue","category":"sport","contact":{"name":"C","email":"c@example.fi","phone":"+358 40 123 4567"},"joinedOn":"2024-01-15"}`,
			ok:      map[domain.Role]int{N: 201, C: 201}},
		"POST /v1/partners/{id}/approval": {path: "/v1/partners/espoo-new/approval", body: `{"on":"2024-02-01"}`, ok: map[domain.Role]int{N: 200}},
		"PUT /v1/partners/{id}/contact": {path: "/v1/partners/espoo-museum/contact", body: `{"name":"N{r}","email":"n@example.fi","phone":"+358 40 123 4567","on":"2024-03-01"}`,
			outPath: "/v1/partners/vantaa-hall/contact", ok: map[domain.Role]int{N: 200, C: 200}},
		"POST /v1/partners/{id}/commitments": {path: "/v1/partners/c{r}/commitments", body: `{"guidelineVersion":"2022","via":"brochure","on":"2024-03-0{r}"}`,
			outPath: "/v1/partners/vantaa-hall/commitments", ok: map[domain.Role]int{N: 200, C: 200}},
		"POST /v1/partners/{id}/departure": {path: "/v1/partners/p{r}/departure", body: `{"on":"2024-06-01","reason":"other"}`,
			outPath: "/v1/partners/vantaa-hall/departure", ok: map[domain.Role]int{N: 200, C: 200}},
		"POST /v1/agreements": {path: "/v1/agreements", body: `{"id":"a{r}","locality":"espoo","partner":"c{r}","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-01-01","validUntil":"2024-04-30"}`,
			outBody: `{"id":"b{r}","locality":"vantaa","partner":"vantaa-hall","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-01-01","validUntil":"2024-12-31"}`,
			ok:      map[domain.Role]int{N: 201, C: 201}},
		"POST /v1/agreements/{id}/amendments": {path: "/v1/agreements/ag-espoo/amendments", body: `{"on":"2024-03-0{r}","validUntil":"2025-0{r}-28","note":"x"}`,
			outPath: "/v1/agreements/ag-vantaa/amendments", ok: map[domain.Role]int{N: 201, C: 201}},
		"POST /v1/agreements/{id}/termination": {path: "/v1/agreements/a{r}/termination", body: `{"on":"2024-04-01","reason":"other"}`,
			outPath: "/v1/agreements/ag-vantaa/termination", ok: map[domain.Role]int{N: 200, C: 200}},
		"POST /v1/guidelines": {path: "/v1/guidelines", body: `{"version":"203{r}","adoptedOn":"2024-06-01","effectiveFrom":"203{r}-01-01","rules":{"minHolderAge":16,"cardValidityMonths":12,"childTicketMaxAge":17,"childTicketsForCourses":false,"smallCellThreshold":5,"categories":["culture","education","science","sport"],"ageBands":[16,25]}}`,
			ok: map[domain.Role]int{N: 201}},
		"POST /v1/cards": {path: "/v1/cards", body: `{"id":"K-100000{r}","issuer":"espoo-sos-1","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":1}}`,
			outBody: `{"id":"K-200000{r}","issuer":"vantaa-sos-1","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":1}}`,
			ok:      map[domain.Role]int{I: 201}},
		"POST /v1/cards/{id}/renewal":      {path: "/v1/cards/K-0000002/renewal", body: `{"on":"2024-06-0{r}"}`, outPath: "/v1/cards/K-0000099/renewal", ok: map[domain.Role]int{I: 200}},
		"POST /v1/cards/{id}/replacement":  {path: "/v1/cards/K-0000003/replacement", body: `{"newCardId":"K-300000{r}","on":"2024-06-01"}`, outPath: "/v1/cards/K-0000099/replacement", ok: map[domain.Role]int{I: 201}},
		"PATCH /v1/cards/{id}":             {path: "/v1/cards/K-0000004", body: `{"minorChildren":{r}}`, outPath: "/v1/cards/K-0000099", ok: map[domain.Role]int{I: 200}},
		"POST /v1/cards/{id}/cancellation": {path: "/v1/cards/K-0000005/cancellation", body: `{"on":"2024-06-01","reason":"other"}`, outPath: "/v1/cards/K-0000099/cancellation", ok: map[domain.Role]int{I: 200}},
		"POST /v1/cards/{id}/uses": {path: "/v1/cards/K-0000006/uses", body: `{"venue":"espoo-museum","usedOn":"2024-04-02"}`,
			outBody: `{"venue":"vantaa-hall","usedOn":"2024-04-02"}`, ok: map[domain.Role]int{V: 201}},
		"POST /v1/cards/{id}/uses/{useId}/cancellation": {path: "/v1/cards/K-0000001/uses/u1/cancellation", body: `{"reason":"other"}`, outPath: "/v1/cards/K-0000001/uses/v1/cancellation", ok: map[domain.Role]int{V: 200}},
		"POST /v1/uses": {path: "/v1/uses", body: "card;usedOn\nK-0000006;2024-04-03\n", ok: map[domain.Role]int{V: 200},
			headers: []string{"Content-Type", "text/csv", "Idempotency-Key", "authz-upload"}},

		"GET /v1/statistics":                     {path: "/v1/statistics?locality=espoo&from=2023-01-01&to=2023-12-31", outPath: "/v1/statistics?locality=vantaa&from=2023-01-01&to=2023-12-31", ok: all(200)},
		"GET /v1/statistics/national/{year}":     {path: "/v1/statistics/national/2023", ok: all(200)},
		"GET /v1/contacts":                       {path: "/v1/contacts?locality=espoo", outPath: "/v1/contacts?locality=vantaa", ok: readers},
		"GET /v1/partners/{id}/contacts/history": {path: "/v1/partners/espoo-museum/contacts/history", outPath: "/v1/partners/vantaa-hall/contacts/history", ok: readers},
		"GET /v1/commitments":                    {path: "/v1/commitments?locality=espoo", outPath: "/v1/commitments?locality=vantaa", ok: readers},
		"GET /v1/compliance":                     {path: "/v1/compliance?locality=espoo", outPath: "/v1/compliance?locality=vantaa", ok: readers},
		"GET /v1/agreements":                     {path: "/v1/agreements?locality=espoo", outPath: "/v1/agreements?locality=vantaa", ok: readers},
		"GET /v1/agreements/{id}/timeline":       {path: "/v1/agreements/ag-espoo/timeline", outPath: "/v1/agreements/ag-vantaa/timeline", ok: readers},
		"GET /v1/history":                        {path: "/v1/history?locality=espoo", outPath: "/v1/history?locality=vantaa", ok: readers},
		"GET /v1/network":                        {path: "/v1/network?locality=espoo", outPath: "/v1/network?locality=vantaa", ok: readers},
		"GET /v1/audit/verify":                   {path: "/v1/audit/verify", ok: map[domain.Role]int{N: 200, A: 200}},
		"GET /v1/projections":                    {path: "/v1/projections", ok: map[domain.Role]int{N: 200, A: 200}},

		"GET /v1/cards/{id}":              {path: "/v1/cards/K-0000001", ok: all(200)},
		"GET /v1/uses":                    {path: "/v1/uses?venue=espoo-museum", outPath: "/v1/uses?venue=vantaa-hall", ok: map[domain.Role]int{N: 200, C: 200, V: 200, A: 200}},
		"GET /v1/localities":              {path: "/v1/localities?locality=espoo", outPath: "/v1/localities?locality=vantaa", ok: all(200)},
		"GET /v1/partners":                {path: "/v1/partners?locality=espoo", outPath: "/v1/partners?locality=vantaa", ok: all(200)},
		"GET /v1/guidelines":              {path: "/v1/guidelines", ok: all(200)},
		"GET /v1/guidelines/{version}":    {path: "/v1/guidelines/2022", ok: all(200)},
		"GET /v1/statistics/cross-use":    {path: "/v1/statistics/cross-use?locality=espoo", outPath: "/v1/statistics/cross-use?locality=vantaa", ok: readers},
		"GET /v1/statistics/national":     {path: "/v1/statistics/national", ok: all(200)},
		"GET /v1/personal-data/{subject}": {path: "/v1/personal-data/contact:c2:1", ok: map[domain.Role]int{N: 200}},
		"POST /v1/redactions":             {path: "/v1/redactions", body: `{"position":` + joinedC2 + `,"field":"/name","reason":"mistake"}`, ok: map[domain.Role]int{N: 200}},
		"POST /v1/personal-data/{subject}/erasure": {path: "/v1/personal-data/contact:c{r}:1/erasure", body: `{"reason":"subject_request"}`,
			ok: map[domain.Role]int{N: 200}},
	}
	inScope := map[domain.Role]domain.Principal{N: national, C: coordinator, I: issuer, V: venue, A: auditor}
	outScope := map[domain.Role]domain.Principal{C: coordinatorVantaa, I: issuerVantaa, V: venueVantaa}
	// {r} makes one-time targets distinct per caller.
	tag := map[domain.Principal]string{{}: "9", national: "1", coordinator: "2", issuer: "3", venue: "4", auditor: "5",
		coordinatorVantaa: "6", issuerVantaa: "7", venueVantaa: "8"}
	fill := func(p domain.Principal, s string) string { return strings.ReplaceAll(s, "{r}", tag[p]) }
	for _, rt := range a.server.Routes() {
		if rt.Public {
			continue
		}
		key := rt.Method + " " + rt.Pattern
		row, ok := rows[key]
		if !ok {
			t.Errorf("route %s has no row in the authorisation table", key)
			continue
		}
		t.Run(key, func(t *testing.T) {
			if ans := a.call(t, domain.Principal{}, rt.Method, fill(domain.Principal{}, row.path), fill(domain.Principal{}, row.body), row.headers...); ans.status != http.StatusUnauthorized {
				t.Errorf("without a key: %d %s, want 401", ans.status, ans.body)
			}
			for _, role := range allRoles {
				want, allowed := row.ok[role]
				if !allowed {
					want = http.StatusForbidden
				}
				ans := a.call(t, inScope[role], rt.Method, fill(inScope[role], row.path), fill(inScope[role], row.body), row.headers...)
				if ans.status != want {
					t.Errorf("%s in scope: %d %s, want %d", role, ans.status, ans.body, want)
				}
				out, scoped := outScope[role] // its tag keeps one-time targets apart
				if !allowed || !scoped || (row.outPath == "" && row.outBody == "") {
					continue
				}
				path, body := row.path, row.body
				if row.outPath != "" {
					path = row.outPath
				}
				if row.outBody != "" {
					body = row.outBody
				}
				// The espoo principal asks for vantaa's data.
				if ans := a.call(t, inScope[role], rt.Method, fill(out, path), fill(out, body), row.headers...); ans.status != http.StatusForbidden {
					t.Errorf("%s out of scope: %d %s, want 403", role, ans.status, ans.body)
				}
			}
		})
	}
}
