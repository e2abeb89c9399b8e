package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

func TestPersonalDataIsRefusedAndNothingStored(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	count := func(w http.ResponseWriter, r *http.Request) error {
		calls.Add(1)
		return httpapi.WriteJSON(w, http.StatusCreated, map[string]int{"position": 1})
	}
	e := newEnv(t, httpapi.Config{Routes: []httpapi.Route{
		{Method: "POST", Pattern: "/v1/cards", Roles: []domain.Role{domain.RoleIssuer}, CardPayload: true, Handler: count},
		{Method: "PUT", Pattern: "/v1/partners/{id}/contact", Roles: []domain.Role{domain.RoleCoordinator}, Handler: count},
	}})
	key := e.key(t, issuer)
	const card = `{"id":"K-1","issuer":"espoo-sos-1","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2%s}%s}`
	cases := []struct {
		name  string
		body  string
		field string // "" when accepted
	}{
		{"a card with only the allowed holder data passes", fmt.Sprintf(card, "", ""), ""},
		{"a holder name is refused", fmt.Sprintf(card, `,"name":"Matti Meikäläinen"`, ""), "holder.name"},
		{"a holder first name is refused", fmt.Sprintf(card, `,"firstName":"Matti"`, ""), "holder.firstName"},
		{"a snake-case last name is refused", fmt.Sprintf(card, `,"last_name":"M"`, ""), "holder.last_name"},
		{"a hetu field is refused", fmt.Sprintf(card, `,"hetu":"x"`, ""), "holder.hetu"},
		{"a personal identity code field is refused", fmt.Sprintf(card, `,"personalIdentityCode":"x"`, ""), "holder.personalIdentityCode"},
		{"an ssn field is refused", fmt.Sprintf(card, "", `,"ssn":"x"`), "ssn"},
		{"a date of birth is refused", fmt.Sprintf(card, `,"dateOfBirth":"1971-01-01"`, ""), "holder.dateOfBirth"},
		{"a birth date is refused", fmt.Sprintf(card, `,"birthDate":"1971-01-01"`, ""), "holder.birthDate"},
		{"an address is refused", fmt.Sprintf(card, `,"address":"Katu 1"`, ""), "holder.address"},
		{"a street address is refused", fmt.Sprintf(card, `,"streetAddress":"Katu 1"`, ""), "holder.streetAddress"},
		{"an identity code hidden in free text is refused", fmt.Sprintf(card, `,"lifeSituation":"asiakas 010190-123A"`, ""), "holder.lifeSituation"},
		{"an identity code of the 2000s is refused", fmt.Sprintf(card, `,"gender":"311205A987X"`, ""), "holder.gender"},
		{"an identity code with a new century sign is refused", fmt.Sprintf(card, `,"gender":"010103B1234"`, ""), "holder.gender"},
		{"an identity code in an array is refused", fmt.Sprintf(card, "", `,"notes":["ok","010190-123A"]`), "notes[1]"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			idem := "privacy-" + string(rune('a'+i))
			a := e.do(t, "POST", "/v1/cards", key, tc.body, httpapi.IdempotencyHeader, idem)
			if tc.field == "" {
				if a.status != 201 || calls.Load() != before+1 {
					t.Fatalf("status %d, calls %d→%d: %s", a.status, before, calls.Load(), a.body)
				}
				return
			}
			if a.status != 400 || a.prob.Code != "personal_data_refused" || a.prob.Field != tc.field {
				t.Fatalf("got %d %q field %q, want 400 personal_data_refused field %q", a.status, a.prob.Code, a.prob.Field, tc.field)
			}
			if calls.Load() != before {
				t.Fatal("the handler ran for a refused body")
			}
			if strings.Contains(a.body, "Matti") || strings.Contains(a.body, "123A") || strings.Contains(a.body, "Katu") {
				t.Fatalf("the answer echoes personal data: %s", a.body)
			}
			var stored int
			if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE key = $1`, idem).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored != 0 {
				t.Fatal("a refused request left a row in idempotency_keys")
			}
		})
	}

	t.Run("a contact person's name passes on partner routes", func(t *testing.T) {
		k := e.key(t, coordinator)
		a := e.do(t, "PUT", "/v1/partners/p1/contact", k, `{"name":"Maija Mehiläinen","email":"m@example.fi"}`)
		if a.status != 201 && a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	})
}
