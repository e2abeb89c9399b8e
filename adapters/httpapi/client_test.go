package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/kaiku/kaiku/adapters/httpapi/apiclient"
	"github.com/kaiku/kaiku/domain"
)

// A client generated from /openapi.json by oapi-codegen (kept in
// apiclient, generated from the document kept beside it) walks a small
// network end to end: a locality, an issuer and a venue, a card, a use,
// the statistics. The test fails when the served document is no longer
// the one the client was generated from.
func TestAGeneratedClientWalksANetwork(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	served := a.server.OpenAPIDocument()
	const kept = "apiclient/openapi.json"
	if os.Getenv("KAIKU_UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile(kept, served, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if old, err := os.ReadFile(kept); err != nil || !bytes.Equal(old, served) {
		t.Fatalf("the generated client is older than /openapi.json (%v): run KAIKU_UPDATE_OPENAPI=1 go test -run %s ./adapters/httpapi && go generate ./adapters/httpapi/apiclient",
			err, t.Name())
	}
	ctx := context.Background()
	as := func(p domain.Principal) *apiclient.ClientWithResponses {
		c, err := apiclient.NewClientWithResponses(a.url, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+a.keys[p])
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	must := func(what string, status int, body []byte, err error, want int) {
		t.Helper()
		if err != nil || status != want {
			t.Fatalf("%s: %d %s %v, want %d", what, status, body, err, want)
		}
	}
	national, coord, iss, ven := as(national), as(coordinator), as(issuer), as(venue)

	g, err := national.PostV1GuidelinesWithResponse(ctx, nil, apiclient.PostV1GuidelinesJSONRequestBody{
		Version: "2022", AdoptedOn: day("2021-12-08"), EffectiveFrom: *day("2022-01-01"),
		Rules: apiclient.GuidelineRules{MinHolderAge: 16, CardValidityMonths: 12, ChildTicketMaxAge: 17, SmallCellThreshold: 5,
			Categories: []string{"culture", "education", "science", "sport"}, AgeBands: []int{16, 25, 35, 50, 65}}})
	must("revise the guideline", g.StatusCode(), g.Body, err, 201)
	l, err := national.PostV1LocalitiesWithResponse(ctx, nil, apiclient.PostV1LocalitiesJSONRequestBody{
		Id: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: apiclient.RegisterLocalityRequestScope("national"),
		JoinedOn: day("2024-01-01")})
	must("register a locality", l.StatusCode(), l.Body, err, 201)
	for _, p := range []apiclient.JoinPartnerRequest{
		{Id: "espoo-sos-1", Locality: "espoo", Name: "Sosiaalitoimisto", Kind: apiclient.JoinPartnerRequestKind("issuer"), Category: apiclient.JoinPartnerRequestCategory("social"),
			Contact: apiclient.ContactRequest{Name: "Anna Virtanen", Email: ptr(openapi_types.Email("anna@espoo.fi"))}, JoinedOn: day("2024-01-15")},
		{Id: "espoo-museum", Locality: "espoo", Name: "Museo", Kind: apiclient.JoinPartnerRequestKind("venue"), Category: apiclient.JoinPartnerRequestCategory("culture"),
			Contact: apiclient.ContactRequest{Name: "Bert Lindqvist"}, JoinedOn: day("2024-01-15")},
	} {
		r, err := coord.PostV1PartnersWithResponse(ctx, nil, p)
		must("a partner joins", r.StatusCode(), r.Body, err, 201)
		c, err := coord.PostV1PartnersByidCommitmentsWithResponse(ctx, p.Id, nil, apiclient.PostV1PartnersByidCommitmentsJSONRequestBody{
			GuidelineVersion: "2022", Via: apiclient.CommitmentRequestVia("agreement"), On: day("2024-01-15")})
		must("commit to the guideline", c.StatusCode(), c.Body, err, 200)
	}
	ap, err := national.PostV1PartnersByidApprovalWithResponse(ctx, "espoo-sos-1", nil, apiclient.PostV1PartnersByidApprovalJSONRequestBody{On: day("2024-02-01")})
	must("approve the issuer", ap.StatusCode(), ap.Body, err, 200)
	life := apiclient.HolderRequestLifeSituation("student")
	issued, err := iss.PostV1CardsWithResponse(ctx, nil, apiclient.PostV1CardsJSONRequestBody{Id: "K-0001234", Kind: apiclient.IssueCardRequestKind("personal"),
		IssuedOn: day("2024-03-01"),
		Holder:   apiclient.HolderRequest{BirthYear: ptr(1990), PostalCode: "02100", MinorChildren: 1, LifeSituation: &life}})
	must("issue a card", issued.StatusCode(), issued.Body, err, 201)
	use, err := ven.PostV1CardsByidUsesWithResponse(ctx, "K-0001234", nil, apiclient.PostV1CardsByidUsesJSONRequestBody{
		UsedOn: day("2024-04-02"), ChildTickets: ptr(1)})
	must("record a use", use.StatusCode(), use.Body, err, 201)
	bad, err := iss.PostV1CardsWithResponse(ctx, nil, apiclient.PostV1CardsJSONRequestBody{Id: "K-0001235", Kind: apiclient.IssueCardRequestKind("personal"),
		Holder: apiclient.HolderRequest{BirthYear: ptr(1990), PostalCode: "2100", MinorChildren: 1}})
	must("a refused card", bad.StatusCode(), bad.Body, err, 400)
	var prob httpapi_problem
	if json.Unmarshal(bad.Body, &prob); prob.Code != "invalid_postal_code" || prob.Field != "holder.postalCode" {
		t.Fatalf("refusal = %s", bad.Body)
	}
	table, err := national.GetV1StatisticsNationalByyearWithResponse(ctx, "2024", nil)
	must("the national table", table.StatusCode(), table.Body, err, 200)
	var nt struct{ CardsRegistered, AdultUses, ChildTickets int }
	if err := json.Unmarshal(table.Body, &nt); err != nil || nt.CardsRegistered != 1 || nt.AdultUses != 1 || nt.ChildTickets != 1 {
		t.Fatalf("national table = %s (%v)", table.Body, err)
	}
}

type httpapi_problem struct{ Code, Field string }

func ptr[T any](v T) *T { return &v }

// day is a date of the generated client.
func day(s string) *openapi_types.Date { return &openapi_types.Date{Time: domain.MustDate(s).Time()} }
