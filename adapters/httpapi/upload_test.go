package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
)

// A venue uploads the uses it wrote down while offline: each row is judged
// at its own date and answered on its own; a retry records nothing twice;
// two real uses alike are both kept; a malformed file changes nothing.
func TestOfflineUpload(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	a.issue(t, "K-0001234")
	upload := func(t *testing.T, key, contentType, body string) (answer, httpapi.UploadResult) {
		t.Helper()
		headers := []string{"Content-Type", contentType}
		if key != "" {
			headers = append(headers, httpapi.IdempotencyHeader, key)
		}
		ans := a.call(t, venue, "POST", "/v1/uses", body, headers...)
		var res httpapi.UploadResult
		if ans.status == 200 {
			if err := json.Unmarshal([]byte(ans.body), &res); err != nil {
				t.Fatal(err)
			}
		}
		return ans, res
	}
	file := "\ufeffcard;usedOn;category;kind;childTickets;assistant\n" +
		"K-0001234;2024-04-02;culture;event;1;false\n" + // accepted
		"K-0001234;2024-04-02;culture;event;1;false\n" + // the same again: a second real use
		"K-0009999;2024-04-03;culture;event;0;false\n" + // not registered
		"K-0001234;2024-02-01;culture;event;0;false\n" + // before the card was issued
		"K-0001234;2030-01-01;culture;event;0;false\n" + // in the future
		"K-0001234;2024-04-05;culture;course;1;false\n" + // children's tickets on a course
		"K-0001234;2024-04-31;culture;event;0;false\n" + // no such date
		"010171-123A;2024-04-06;culture;event;0;false\n" // an identity code as the card
	before := a.logLength(t)
	ans, res := upload(t, "offline-1", "text/csv; charset=utf-8", file)
	if ans.status != 200 {
		t.Fatalf("upload = %d %s", ans.status, ans.body)
	}
	wantStatus := []string{"accepted", "accepted", "refused", "refused", "refused", "refused", "refused", "refused"}
	wantCode := []string{"", "", "card_not_registered", "used_before_issue", "date_in_future", "child_tickets_not_for_courses", "invalid_value", "personal_data_refused"}
	if len(res.Rows) != len(wantStatus) || res.Accepted != 2 || res.Refused != 6 {
		t.Fatalf("answer = %+v", res)
	}
	for i, row := range res.Rows {
		if row.Row != i+2 || row.Status != wantStatus[i] || row.Code != wantCode[i] {
			t.Errorf("row %d = %+v, want line %d %s %q", i, row, i+2, wantStatus[i], wantCode[i])
		}
	}
	if strings.Contains(strings.ToUpper(ans.body), "010171-123A") {
		t.Fatalf("the answer repeats an identity code: %s", ans.body)
	}
	if after := a.logLength(t); after != before+2 {
		t.Fatalf("log grew by %d, want 2", after-before)
	}
	// The same upload retried with its key (the first answer replayed, or
	// each row found already recorded) appends nothing.
	if ans, _ := upload(t, "offline-1", "text/csv", file); ans.status != 200 || a.logLength(t) != before+2 {
		t.Fatalf("retry = %d, log grew by %d", ans.status, a.logLength(t)-before)
	}
	// A retry whose first answer never arrived (another key, the same
	// rows) finds them recorded; it needs the same key to do so, so here
	// the upload with explicit ids stands for it.
	withIDs := "card,usedOn,id\nK-0001234,2024-04-07,u-a\nK-0001234,2024-04-07,u-b\n"
	if _, res := upload(t, "offline-2", "text/csv", withIDs); res.Accepted != 2 {
		t.Fatalf("first = %+v", res)
	}
	if _, res := upload(t, "offline-3", "text/csv", withIDs); res.AlreadyRecorded != 2 || res.Accepted != 0 {
		t.Fatalf("retry = %+v", res)
	}
	// A malformed file is refused whole.
	bad := []struct{ name, key, ct, body string }{
		{"no key", "", "text/csv", "card;usedOn\nK-0001234;2024-04-02\n"},
		{"JSON", "k1", "application/json", `{"card":"K-0001234"}`},
		{"an unknown column", "k2", "text/csv", "card;usedOn;name\nK-0001234;2024-04-02;Matti\n"},
		{"a name column", "k3", "text/csv", "card;usedOn;nimi\nK-0001234;2024-04-02;Matti\n"},
		{"a duplicate column", "k4", "text/csv", "card;usedOn;usedOn\nK-0001234;2024-04-02;2024-04-03\n"},
		{"no usedOn column", "k5", "text/csv", "card\nK-0001234\n"},
		{"a ragged row", "k6", "text/csv", "card;usedOn\nK-0001234;2024-04-02;extra\n"},
		{"not UTF-8", "k7", "text/csv", "card;usedOn\nK-\xff;2024-04-02\n"},
		{"too many rows", "k8", "text/csv", "card;usedOn\n" + strings.Repeat("K-0001234;2024-04-02\n", httpapi.MaxUploadRows+1)},
	}
	mid := a.logLength(t)
	for _, tc := range bad {
		if ans, _ := upload(t, tc.key, tc.ct, tc.body); ans.status < 400 || ans.status >= 500 || ans.prob.Code == "" {
			t.Errorf("%s: %d %s", tc.name, ans.status, ans.body)
		}
	}
	if a.logLength(t) != mid {
		t.Fatalf("a refused upload changed the log")
	}
}
