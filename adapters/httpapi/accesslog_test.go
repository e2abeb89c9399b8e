package httpapi_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsNamePrincipalsAndHoldNoPersonalData drives a network through
// the API at debug level (every request logged) with personal data in
// bodies, query strings and Idempotency-Keys, and with refusals and
// failures, then reads every log line: each request names the principal
// it ran as by the key's public id, and no line holds a key, a contact's
// name, e-mail or phone, or anything a caller typed into a query or key.
//
// Not parallel: it swaps the process's default logger, so it runs while
// no parallel test does.
func TestLogsNamePrincipalsAndHoldNoPersonalData(t *testing.T) {
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	a := newAPI(t)
	a.seed(t) // contacts Anna Virtanen and Bert Lindqvist, with e-mails and phones
	a.issue(t, "K-0001234")
	a.must(t, 201, venue, "POST", "/v1/cards/K-0001234/uses", `{"id":"u1","usedOn":"2024-04-02"}`)
	a.call(t, coordinator, "PUT", "/v1/partners/espoo-museum/contact",
		`{"name":"Doris Uusitalo","email":"doris.uusitalo@example.fi","phone":"+358 40 7654321","on":"2024-04-01"}`,
		"Idempotency-Key", "doris-uusitalo-contact-change")
	a.call(t, issuer, "GET", "/v1/statistics?locality=Matti+Meikalainen&from=2023-01-01&to=2023-12-31", "")
	a.call(t, venueVantaa, "GET", "/v1/statistics?locality=espoo&from=2023-01-01&to=2023-12-31", "")           // a refusal
	a.call(t, issuer, "POST", "/v1/cards/K-0001234/cancellation", `{"on":"2024-04-01","reason":"moved_away"}`) // a rule violated
	a.call(t, domain.Principal{}, "GET", "/v1/contacts", "")                                                   // unauthenticated
	a.call(t, national, "GET", "/v1/contacts?locality=espoo", "")                                              // personal data in the answer

	logs := buf.String()
	if logs == "" {
		t.Fatal("nothing was logged at debug level")
	}
	k := a.keys[issuer]
	keyID := strings.TrimPrefix(k[:strings.LastIndexByte(k, '_')], "kaiku_")
	if !strings.Contains(logs, `"principal":"issuer@espoo-sos-1#`+keyID+`"`) {
		t.Errorf("no access log line names the issuer by its key's id %s:\n%s", keyID, logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"principal":""`) && !strings.Contains(line, `"status":401`) {
			t.Errorf("an authenticated request was logged without its principal: %s", line)
		}
	}
	forbidden := []string{"Anna Virtanen", "anna@example.fi", "+358 40 1", "Bert Lindqvist", "bert@example.fi",
		"Doris", "Uusitalo", "doris.uusitalo", "7654321", "Matti", "Meikalainen", "doris-uusitalo-contact-change"}
	for _, key := range a.keys {
		forbidden = append(forbidden, key, key[strings.LastIndexByte(key, '_')+1:])
	}
	for _, line := range strings.Split(logs, "\n") {
		for _, f := range forbidden {
			if f != "" && strings.Contains(line, f) {
				t.Errorf("a log line holds %q: %s", f, line)
			}
		}
	}
}
