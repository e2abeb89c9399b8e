package httpapi_test

import (
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

// TestRefusalsNameNothingTheCallerMayNotRead: every 403 and 422 a caller
// gets for another's card, use, partner or locality names only the
// caller's own scope and what it sent, never what the route loaded: the
// venue that recorded a use, the card that replaced a lost one, the
// locality of another's partner or card.
func TestRefusalsNameNothingTheCallerMayNotRead(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	a.issue(t, "K-0001234")
	a.must(t, 201, venue, "POST", "/v1/cards/K-0001234/uses", `{"id":"u1","usedOn":"2024-04-02"}`)
	a.must(t, 201, issuer, "POST", "/v1/cards/K-0001234/replacement", `{"newCardId":"K-0009999","on":"2024-06-02"}`)
	// Vantaa takes only its own cards from 2024-05-01 on.
	a.issue(t, "K-0005555")

	tests := []struct {
		name    string
		p       domain.Principal
		method  string
		path    string
		body    string
		status  int
		mustNot []string
	}{
		{"a venue cancelling another venue's use is not told where the card was used", venueVantaa, "POST",
			"/v1/cards/K-0001234/uses/u1/cancellation", `{"reason":"wrong_card"}`, 403, []string{"espoo-museum", "espoo"}},
		{"a venue is not told the number of a lost card's replacement", venueVantaa, "POST",
			"/v1/cards/K-0001234/uses", `{"id":"x1","usedOn":"2024-06-10"}`, 422, []string{"K-0009999", "espoo"}},
		{"a coordinator acting on another locality's partner is not told that locality", coordinatorVantaa, "POST",
			"/v1/partners/espoo-museum/departure", `{"on":"2024-06-01","reason":"closed"}`, 403, []string{"espoo\"", "locality espoo"}},
		{"an issuer acting on another locality's card is not told that locality", issuerVantaa, "POST",
			"/v1/cards/K-0005555/cancellation", `{"on":"2024-06-01","reason":"moved_away"}`, 403, []string{"espoo"}},
		{"a venue recording as another venue is not told about it", venue, "POST",
			"/v1/cards/K-0005555/uses", `{"id":"x2","venue":"vantaa-hall","usedOn":"2024-04-02"}`, 403, []string{"vantaa"}},
		{"a coordinator reading another locality is not told more than its own", coordinatorVantaa, "GET",
			"/v1/contacts?locality=espoo", ``, 403, []string{"espoo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := a.call(t, tt.p, tt.method, tt.path, tt.body)
			if ans.status != tt.status {
				t.Fatalf("%s %s as %s = %d %s, want %d", tt.method, tt.path, tt.p, ans.status, ans.body, tt.status)
			}
			for _, s := range tt.mustNot {
				if strings.Contains(ans.prob.Detail, s) || strings.Contains(ans.prob.Title, s) {
					t.Errorf("the refusal %q names %q", ans.prob.Detail, s)
				}
			}
		})
	}
}
