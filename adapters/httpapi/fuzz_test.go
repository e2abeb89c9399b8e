package httpapi_test

import (
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// FuzzDecodeCommand feeds request bodies of POST /v1/cards and POST
// /v1/cards/{id}/uses through the strict decoder and the domain's
// decision (no store: the aggregate decides in memory): nothing panics,
// and every IssueCard the domain accepts satisfies the holder rules.
//
//	go test ./adapters/httpapi -run '^$' -fuzz FuzzDecodeCommand -fuzztime 30s
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []string{
		`{"id":"K-0001234","issuer":"espoo-sos-1","issuedOn":"2024-03-01","kind":"personal","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2}}`,
		`{"id":"K-0001234","issuedOn":"2024-03-01","kind":"community","holder":{"birthYear":0,"postalCode":"","minorChildren":0}}`,
		`{"id":"u1","venue":"espoo-museum","usedOn":"2024-04-02","category":"culture","kind":"course","childTickets":1,"assistant":true}`,
		`{"holder":{"birthYear":2020,"postalCode":"x","minorChildren":-1}}`,
		`{"usedOn":"2024-13-40"}`, `[]`, `null`, `{"id":1}`, `{"name":"x"}`,
	} {
		f.Add([]byte(s))
	}
	rules := guideline.National2022().Rules
	issuerFacts := partner.Facts{ID: "espoo-sos-1", Locality: "espoo", Kind: partner.KindIssuer, Category: partner.CategorySocial,
		JoinedOn: domain.MustDate("2024-01-01"), ApprovedOn: domain.MustDate("2024-01-01"),
		Commitments: []partner.Commitment{{GuidelineVersion: "2022", Via: partner.ViaAgreement, On: domain.MustDate("2024-01-01")}}}
	locFacts := locality.Facts{ID: "espoo", Scope: locality.ScopeNational, JoinedOn: domain.MustDate("2024-01-01")}
	f.Fuzz(func(t *testing.T, body []byte) {
		if issue, err := httpapi.DecodeIssueCard(body); err == nil {
			issue.Issuer = "espoo-sos-1"
			c := card.Load(nil)
			on := issue.IssuedOn
			if on.IsZero() {
				on = domain.MustDate("2024-03-01")
			}
			err := c.Issue(card.Issuance{Card: issue.ID, Issuer: issue.Issuer, IssuedOn: on, Kind: issue.Kind, Holder: issue.Holder}, issuerFacts, locFacts, rules)
			if err == nil {
				h := issue.Holder
				if h.MinorChildren < 0 || (issue.Kind == card.KindPersonal && on.Year()-h.BirthYear < rules.MinHolderAge) {
					t.Fatalf("accepted a card breaking the holder rules: %+v on %s", issue, on)
				}
				if len(c.Changes()) != 1 {
					t.Fatalf("accepted issuance raised %d events", len(c.Changes()))
				}
			}
		}
		_, _ = httpapi.DecodeRecordUse(body)
	})
}
