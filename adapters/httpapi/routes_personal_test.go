package httpapi_test

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestPersonalDataAccessAndErasureThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	const (
		name  = "Ilona Poistettava"
		email = "ilona.poistettava@example.fi"
	)
	ans := a.must(t, 201, national, "POST", "/v1/partners", `{"id":"espoo-lib","locality":"espoo","name":"Kirjasto",
		"kind":"venue","category":"culture","contact":{"name":"`+name+`","email":"`+email+`","phone":"+358 40 9"},"joinedOn":"2024-01-15"}`)
	if got := decodeJSON[struct{ Subjects []string }](t, ans.body).Subjects; len(got) != 1 || got[0] != "contact:espoo-lib:1" {
		t.Fatalf("the answer names subjects %v, want [contact:espoo-lib:1]", got)
	}
	ans = a.must(t, 200, national, "PUT", "/v1/partners/espoo-lib/contact", `{"name":"Kalle Seuraava","email":"kalle@example.fi","on":"2024-03-01"}`)
	if got := decodeJSON[struct{ Subjects []string }](t, ans.body).Subjects; len(got) != 1 || got[0] != "contact:espoo-lib:2" {
		t.Fatalf("the contact change names subjects %v, want [contact:espoo-lib:2]", got)
	}
	hist := a.must(t, 200, coordinator, "GET", "/v1/partners/espoo-lib/contacts/history", "")
	if !strings.Contains(hist.body, `"subject":"contact:espoo-lib:1"`) || !strings.Contains(hist.body, name) {
		t.Fatalf("contact history lacks the subject or its name: %s", hist.body)
	}

	access := a.must(t, 200, national, "GET", "/v1/personal-data/contact:espoo-lib:1", "")
	type accessBody struct {
		Subject, Kind string
		Erased        bool
		Parts         []struct {
			Event, Stream string
			Position      int64
			Personal      *struct{ Name, Email string }
		}
		Erasures []struct{ Subject, By, Reason string }
	}
	got := decodeJSON[accessBody](t, access.body)
	if got.Kind != "contact" || got.Erased || len(got.Parts) != 1 || got.Parts[0].Event != "partner.joined.v1" ||
		got.Parts[0].Stream != "partner-espoo-lib" || got.Parts[0].Personal == nil || got.Parts[0].Personal.Name != name {
		t.Fatalf("subject access before erasure: %s", access.body)
	}

	for _, tc := range []struct{ name, path, body, code string }{
		{"free text as reason is refused", "/v1/personal-data/contact:espoo-lib:1/erasure", `{"reason":"she asked"}`, "invalid_reason"},
		{"a malformed subject is refused", "/v1/personal-data/someone/erasure", `{"reason":"subject_request"}`, "invalid_subject"},
	} {
		if ans := a.call(t, national, "POST", tc.path, tc.body); ans.status != 400 || ans.prob.Code != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, ans.status, ans.body, tc.code)
		}
	}
	if ans := a.call(t, national, "POST", "/v1/personal-data/contact:nobody:1/erasure", `{"reason":"subject_request"}`); ans.status != 404 {
		t.Errorf("erasure of an unknown subject: %d %s, want 404", ans.status, ans.body)
	}

	erased := a.must(t, 200, national, "POST", "/v1/personal-data/contact:espoo-lib:1/erasure", `{"reason":"subject_request"}`)
	if strings.Contains(erased.body, name) || !strings.Contains(erased.body, `"parts":1`) {
		t.Fatalf("erasure answer: %s", erased.body)
	}
	if ans := a.call(t, national, "POST", "/v1/personal-data/contact:espoo-lib:1/erasure", `{"reason":"subject_request"}`); ans.status != 422 || ans.prob.Code != "subject_erased" {
		t.Errorf("second erasure: %d %s, want 422 subject_erased", ans.status, ans.body)
	}

	hist = a.must(t, 200, coordinator, "GET", "/v1/partners/espoo-lib/contacts/history", "")
	if strings.Contains(hist.body, name) || strings.Contains(hist.body, email) ||
		!strings.Contains(hist.body, `"subject":"contact:espoo-lib:1","erased":true`) || !strings.Contains(hist.body, "Kalle Seuraava") {
		t.Fatalf("contact history after erasure: %s", hist.body)
	}
	for _, path := range []string{"/v1/contacts?locality=espoo", "/v1/network?locality=espoo", "/v1/compliance?locality=espoo", "/v1/history?locality=espoo"} {
		if ans := a.must(t, 200, national, "GET", path, ""); strings.Contains(ans.body, name) || strings.Contains(ans.body, email) {
			t.Errorf("%s still shows the erased contact: %s", path, ans.body)
		}
	}
	got = decodeJSON[accessBody](t, a.must(t, 200, national, "GET", "/v1/personal-data/contact:espoo-lib:1", "").body)
	if !got.Erased || len(got.Parts) != 1 || got.Parts[0].Personal != nil || len(got.Erasures) != 1 ||
		got.Erasures[0].Reason != "subject_request" || !strings.HasPrefix(got.Erasures[0].By, "national") {
		t.Fatalf("subject access after erasure: %+v", got)
	}

	// A note is a subject of its own, erased like a person.
	const note = "Soitettu Liisa Virtaselle numeroon 040 1234567"
	a.must(t, 201, national, "POST", "/v1/agreements", `{"id":"ag-lib","locality":"espoo","partner":"espoo-lib","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-01-01","validUntil":"2024-12-31"}`)
	ans = a.must(t, 201, national, "POST", "/v1/agreements/ag-lib/amendments", `{"on":"2024-03-01","validUntil":"2025-06-30","note":"`+note+`"}`)
	subjects := decodeJSON[struct{ Subjects []string }](t, ans.body).Subjects
	if len(subjects) != 1 || !strings.HasPrefix(subjects[0], "note:") {
		t.Fatalf("the amendment names subjects %v, want one note", subjects)
	}
	if acc := a.must(t, 200, national, "GET", "/v1/personal-data/"+subjects[0], ""); !strings.Contains(acc.body, note) ||
		!strings.Contains(acc.body, `"kind":"note"`) || !strings.Contains(acc.body, "agreement.amended") {
		t.Fatalf("subject access of the note: %s", acc.body)
	}
	a.must(t, 200, national, "POST", "/v1/personal-data/"+subjects[0]+"/erasure", `{"reason":"mistake"}`)
	a.must(t, 200, national, "GET", "/v1/agreements/ag-lib/timeline", "")

	// A mistake outside a personal part: a person's name typed as the
	// partner's name. Redaction replaces it everywhere and is recorded.
	const mistaken = "Kioski Pertti Korhonen"
	ans = a.must(t, 201, national, "POST", "/v1/partners", `{"id":"espoo-kiosk","locality":"espoo","name":"`+mistaken+`",
		"kind":"venue","category":"culture","contact":{"name":"Kaisa Kioski","email":"kaisa.kioski@example.fi"},"joinedOn":"2024-01-15"}`)
	joined := strconv.FormatInt(decodeJSON[struct{ Position int64 }](t, ans.body).Position, 10)
	a.must(t, 200, national, "GET", "/v1/contacts?locality=espoo", "") // the read models have caught up
	for _, tc := range []struct{ body, code string }{
		{`{"position":` + joined + `,"field":"/nope","reason":"mistake"}`, "invalid_field"},
		{`{"position":` + joined + `,"field":"name","reason":"mistake"}`, "invalid_field"},
		{`{"position":` + joined + `,"field":"/name","reason":"oops"}`, "invalid_reason"},
	} {
		if ans := a.call(t, national, "POST", "/v1/redactions", tc.body); ans.status != 400 || ans.prob.Code != tc.code {
			t.Errorf("redaction %s: %d %s, want 400 %s", tc.body, ans.status, ans.body, tc.code)
		}
	}
	red := a.must(t, 200, national, "POST", "/v1/redactions", `{"position":`+joined+`,"field":"/name","reason":"mistake"}`)
	if strings.Contains(red.body, mistaken) || !strings.Contains(red.body, `"field":"/name"`) {
		t.Fatalf("redaction answer: %s", red.body)
	}
	for _, path := range []string{"/v1/contacts?locality=espoo", "/v1/network?locality=espoo", "/v1/history?locality=espoo&limit=1000", "/v1/compliance?locality=espoo"} {
		if ans := a.must(t, 200, national, "GET", path, ""); strings.Contains(ans.body, mistaken) {
			t.Errorf("%s still shows the redacted value", path)
		}
	}

	for _, v := range []string{name, email, note, mistaken} {
		var n int
		if err := a.pool.QueryRow(context.Background(), `SELECT count(*) FROM events e WHERE strpos(e::text, $1) > 0`, v).Scan(&n); err != nil || n != 0 {
			t.Errorf("the log still holds %q in %d events (%v)", v, n, err)
		}
		if found := tablesHolding(t, a.pool, v); len(found) > 0 {
			t.Errorf("after erasure %q is still in %v", v, found)
		}
	}
}

// tablesHolding returns every table of the database whose rows, as text,
// contain v (bytea columns are searched in their hex form too).
func tablesHolding(t *testing.T, pool *pgxpool.Pool, v string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, tb := range tables {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+tb+` t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0`,
			v, hex.EncodeToString([]byte(v))).Scan(&n); err != nil {
			t.Fatalf("search %s: %v", tb, err)
		}
		if n > 0 {
			found = append(found, tb)
		}
	}
	return found
}
