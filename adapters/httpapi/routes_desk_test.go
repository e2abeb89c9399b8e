package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// deskNetwork seeds the two-locality network plus a local-scope locality
// with a venue, and cards in every state (today is 2024-06-15).
func deskNetwork(t *testing.T) *api {
	t.Helper()
	a := newAPI(t)
	a.seed(t)
	a.must(t, 201, national, "POST", "/v1/localities", `{"id":"savonlinna","name":"Savonlinna","municipalities":["740"],"scope":"local","joinedOn":"2024-01-01"}`)
	a.must(t, 201, national, "POST", "/v1/partners", `{"id":"savonlinna-hall","locality":"savonlinna","name":"Sali","kind":"venue","category":"culture",
		"contact":{"name":"S","email":"s@example.fi","phone":"+358 40 123 4567"},"joinedOn":"2024-01-15"}`)
	for _, id := range []string{"K-0000001", "K-0000002", "K-0000003", "K-0000004"} {
		a.issue(t, id)
	}
	a.must(t, 201, venue, "POST", "/v1/cards/K-0000001/uses", `{"id":"u1","usedOn":"2024-04-02","childTickets":1}`)
	a.must(t, 201, venue, "POST", "/v1/cards/K-0000001/uses", `{"id":"u2","usedOn":"2024-04-03","kind":"course","assistant":true}`)
	a.must(t, 200, venue, "POST", "/v1/cards/K-0000001/uses/u2/cancellation", `{"reason":"wrong_card"}`)
	a.must(t, 201, venueVantaa, "POST", "/v1/cards/K-0000001/uses", `{"id":"v1","usedOn":"2024-04-04"}`)
	a.must(t, 201, issuer, "POST", "/v1/cards/K-0000002/replacement", `{"newCardId":"K-0000022","on":"2024-06-01"}`)
	a.must(t, 200, issuer, "POST", "/v1/cards/K-0000003/cancellation", `{"on":"2024-06-01","reason":"other"}`)
	return a
}

func TestCardCheck(t *testing.T) {
	t.Parallel()
	a := deskNetwork(t)
	savonlinnaHall := domain.Principal{Role: domain.RoleVenue, Partner: "savonlinna-hall"}
	k, _, err := postgresKeys(a).Create(t.Context(), savonlinnaHall, "test")
	if err != nil {
		t.Fatal(err)
	}
	a.keys[savonlinnaHall] = k
	check := func(p domain.Principal, id string) httpapi.CardCheck {
		t.Helper()
		return decodeJSON[httpapi.CardCheck](t, a.must(t, 200, p, "GET", "/v1/cards/"+id, "").body)
	}
	usable := func(c httpapi.CardCheck) string {
		if c.UsableHere == nil {
			return "-"
		}
		return fmt.Sprintf("%v:%s", *c.UsableHere, c.Reason)
	}
	t.Run("a venue sees a valid card's status, validity, children's tickets and that it can be used here, nothing more", func(t *testing.T) {
		c := check(venue, "K-0000001")
		if c.Status != "valid" || c.ValidUntil.String() != "2025-02-28" || c.ChildTickets != 2 || c.Kind != "personal" || usable(c) != "true:" ||
			c.Venue != "espoo-museum" || c.On.String() != "2024-06-15" {
			t.Fatalf("check = %+v", c)
		}
		if c.Background != nil || c.UsesThisYear != nil {
			t.Fatalf("a venue saw the background: %+v", c)
		}
	})
	t.Run("a national-scope card is usable at another locality's venue but not at a local-scope locality's", func(t *testing.T) {
		if c := check(venueVantaa, "K-0000001"); usable(c) != "true:" {
			t.Fatalf("at vantaa-hall: %s", usable(c))
		}
		if c := check(savonlinnaHall, "K-0000001"); c.Status != "valid" || usable(c) != "false:out_of_scope" {
			t.Fatalf("at savonlinna-hall: %s %s", c.Status, usable(c))
		}
	})
	t.Run("a replaced card names its successor; a cancelled card says so", func(t *testing.T) {
		if c := check(venue, "K-0000002"); c.Status != "replaced" || c.Successor != "K-0000022" || usable(c) != "false:card_replaced" {
			t.Fatalf("replaced: %+v", c)
		}
		if c := check(venue, "K-0000022"); c.Status != "valid" || c.ChildTickets != 2 {
			t.Fatalf("successor: %+v", c)
		}
		if c := check(venue, "K-0000003"); c.Status != "cancelled" || usable(c) != "false:card_cancelled" {
			t.Fatalf("cancelled: %+v", c)
		}
	})
	t.Run("any well-formed unknown card is not registered; a malformed one is 400", func(t *testing.T) {
		if c := check(venue, "K-7777777"); c.Status != "not_registered" || usable(c) != "false:card_not_registered" || c.Kind != "" {
			t.Fatalf("unknown: %+v", c)
		}
		if ans := a.call(t, venue, "GET", "/v1/cards/k-lower", ""); ans.status != 400 || ans.prob.Code != "invalid_card_number" {
			t.Fatalf("malformed: %d %s", ans.status, ans.body)
		}
	})
	t.Run("a venue that left cannot take the card", func(t *testing.T) {
		a.must(t, 200, national, "POST", "/v1/partners/savonlinna-hall/departure", `{"on":"2024-06-10","reason":"other"}`)
		if c := check(savonlinnaHall, "K-0000001"); usable(c) != "false:venue_left" {
			t.Fatalf("left venue: %s", usable(c))
		}
	})
	t.Run("the card's locality, national and auditors see the background and this year's uses", func(t *testing.T) {
		for _, p := range []domain.Principal{issuer, coordinator, national, auditor} {
			c := check(p, "K-0000001")
			b := c.Background
			if b == nil || b.Issuer != "espoo-sos-1" || b.Locality != "espoo" || b.Holder.BirthYear != 1971 || b.Holder.PostalCode != "02100" || len(b.Periods) != 1 {
				t.Fatalf("%s: background = %+v", p, b)
			}
			var uses []string
			for _, u := range c.UsesThisYear {
				uses = append(uses, fmt.Sprintf("%s@%s/%v", u.ID, u.Venue, u.Cancelled))
			}
			if fmt.Sprint(uses) != "[u1@espoo-museum/false u2@espoo-museum/true v1@vantaa-hall/false]" || c.UsableHere != nil {
				t.Fatalf("%s: uses = %v, usable %s", p, uses, usable(c))
			}
		}
		a.must(t, 200, issuer, "GET", "/v1/cards/K-0000001?venue=vantaa-hall", "")
		if c := check(issuer, "K-0000001?venue=savonlinna-hall"); usable(c) != "false:venue_left" {
			t.Fatalf("an issuer asking about a venue: %s", usable(c))
		}
	})
	t.Run("another locality's issuer and coordinator see the status only", func(t *testing.T) {
		for _, p := range []domain.Principal{issuerVantaa, coordinatorVantaa} {
			if c := check(p, "K-0000001"); c.Status != "valid" || c.Background != nil || c.UsesThisYear != nil {
				t.Fatalf("%s: %+v", p, c)
			}
		}
	})
	t.Run("a venue checks only for itself", func(t *testing.T) {
		a.must(t, 403, venue, "GET", "/v1/cards/K-0000001?venue=vantaa-hall", "")
	})
}

func TestVenueUses(t *testing.T) {
	t.Parallel()
	a := deskNetwork(t)
	for i := 3; i <= 5; i++ {
		a.must(t, 201, venue, "POST", "/v1/cards/K-0000004/uses", fmt.Sprintf(`{"id":"w%d","usedOn":"2024-05-0%d"}`, i, i))
	}
	list := func(p domain.Principal, path string) httpapi.UsesPage {
		t.Helper()
		return decodeJSON[httpapi.UsesPage](t, a.must(t, 200, p, "GET", path, "").body)
	}
	ids := func(pg httpapi.UsesPage) string {
		var s []string
		for _, u := range pg.Uses {
			s = append(s, fmt.Sprintf("%s/%s/%v", u.Card, u.ID, u.Cancelled))
		}
		return fmt.Sprint(s)
	}
	t.Run("a venue pages through its own uses by position, cancelled ones marked", func(t *testing.T) {
		p1 := list(venue, "/v1/uses?limit=2")
		if ids(p1) != "[K-0000001/u1/false K-0000001/u2/true]" || p1.NextAfter == 0 || !strings.Contains(p1.Next, "after=") {
			t.Fatalf("page 1 = %s next %q", ids(p1), p1.Next)
		}
		p2 := list(venue, p1.Next)
		if ids(p2) != "[K-0000004/w3/false K-0000004/w4/false]" {
			t.Fatalf("page 2 = %s", ids(p2))
		}
		p3 := list(venue, p2.Next)
		if ids(p3) != "[K-0000004/w5/false]" || p3.Next != "" {
			t.Fatalf("page 3 = %s next %q", ids(p3), p3.Next)
		}
		u := p1.Uses[0]
		if u.ChildTickets != 1 || u.Category != "culture" || u.Kind != "event" || p1.Uses[1].Kind != "course" || !p1.Uses[1].Assistant {
			t.Fatalf("uses = %+v", p1.Uses)
		}
	})
	t.Run("from and to bound the use date; another venue's uses are not listed", func(t *testing.T) {
		if pg := list(venue, "/v1/uses?from=2024-04-03&to=2024-05-04"); ids(pg) != "[K-0000001/u2/true K-0000004/w3/false K-0000004/w4/false]" {
			t.Fatalf("ranged = %s", ids(pg))
		}
		if pg := list(venueVantaa, "/v1/uses"); ids(pg) != "[K-0000001/v1/false]" {
			t.Fatalf("vantaa = %s", ids(pg))
		}
		if ans := a.call(t, venue, "GET", "/v1/uses?from=2024-05-01&to=2024-04-01", ""); ans.status != 400 || ans.prob.Code != "invalid_range" {
			t.Fatalf("reversed: %d %s", ans.status, ans.body)
		}
	})
	t.Run("national names the venue; its coordinator may list it", func(t *testing.T) {
		if ans := a.call(t, national, "GET", "/v1/uses", ""); ans.status != 400 || ans.prob.Field != "venue" {
			t.Fatalf("without venue: %d %s", ans.status, ans.body)
		}
		if pg := list(coordinator, "/v1/uses?venue=espoo-museum&limit=1"); ids(pg) != "[K-0000001/u1/false]" {
			t.Fatalf("coordinator = %s", ids(pg))
		}
	})
}

func TestLists(t *testing.T) {
	t.Parallel()
	a := deskNetwork(t)
	a.must(t, 200, national, "POST", "/v1/partners/savonlinna-hall/departure", `{"on":"2024-06-10","reason":"other"}`)
	t.Run("localities within the caller's scope, with scope and state", func(t *testing.T) {
		all := decodeJSON[[]network.Member](t, a.must(t, 200, national, "GET", "/v1/localities", "").body)
		var s []string
		for _, l := range all {
			s = append(s, fmt.Sprintf("%s/%s/%s/%v", l.ID, l.Scope, l.State, l.Municipalities))
		}
		if fmt.Sprint(s) != "[espoo/national/pilot/[049] savonlinna/local/established/[740] vantaa/national/pilot/[092]]" {
			t.Fatalf("localities = %v", s)
		}
		own := decodeJSON[[]network.Member](t, a.must(t, 200, venue, "GET", "/v1/localities", "").body)
		if len(own) != 1 || own[0].ID != "espoo" {
			t.Fatalf("a venue's localities = %+v", own)
		}
	})
	t.Run("partners filtered by kind, category and status", func(t *testing.T) {
		show := func(path string) string {
			ps := decodeJSON[[]contacts.Partner](t, a.must(t, 200, national, "GET", path, "").body)
			var s []string
			for _, p := range ps {
				s = append(s, fmt.Sprintf("%s/%s/%s/%s", p.ID, p.Kind, p.Category, p.State))
			}
			return fmt.Sprint(s)
		}
		if got := show("/v1/partners?locality=espoo"); got != "[espoo-museum/venue/culture/joined espoo-sos-1/issuer/social/approved]" {
			t.Fatalf("espoo = %s", got)
		}
		if got := show("/v1/partners?kind=venue&category=culture"); got != "[espoo-museum/venue/culture/joined savonlinna-hall/venue/culture/left vantaa-hall/venue/culture/joined]" {
			t.Fatalf("culture venues = %s", got)
		}
		if got := show("/v1/partners?status=left"); got != "[savonlinna-hall/venue/culture/left]" {
			t.Fatalf("left = %s", got)
		}
		if ans := a.call(t, national, "GET", "/v1/partners?kind=museum", ""); ans.status != 400 || ans.prob.Field != "kind" {
			t.Fatalf("bad kind: %d %s", ans.status, ans.body)
		}
	})
	t.Run("guideline versions with their rules as data", func(t *testing.T) {
		a.must(t, 201, national, "POST", "/v1/guidelines", `{"version":"2030","adoptedOn":"2024-06-01","effectiveFrom":"2030-01-01","rules":{"minHolderAge":16,"cardValidityMonths":12,"childTicketMaxAge":17,"childTicketsForCourses":false,"smallCellThreshold":3,"categories":["culture","education","science","sport"],"ageBands":[16,25]}}`)
		vs := decodeJSON[[]httpapi.GuidelineVersion](t, a.must(t, 200, venue, "GET", "/v1/guidelines", "").body)
		if len(vs) != 2 || vs[0].Version != "2022" || vs[0].EffectiveUntil.String() != "2029-12-31" || vs[0].Rules.SmallCellThreshold != 5 ||
			vs[1].Version != "2030" || !vs[1].EffectiveUntil.IsZero() || vs[1].Rules.SmallCellThreshold != 3 {
			t.Fatalf("versions = %+v", vs)
		}
		v := decodeJSON[httpapi.GuidelineVersion](t, a.must(t, 200, issuer, "GET", "/v1/guidelines/2022", "").body)
		if v.AdoptedOn.String() != "2021-12-08" || len(v.Rules.Categories) != 4 || v.Rules.MinHolderAge != 16 {
			t.Fatalf("2022 = %+v", v)
		}
		a.must(t, 404, issuer, "GET", "/v1/guidelines/1999", "")
	})
}

func TestCrossUseAndNationalYears(t *testing.T) {
	t.Parallel()
	a := deskNetwork(t)
	t.Run("national sees every cross-use cell; a coordinator its own rows, suppressed", func(t *testing.T) {
		n := decodeJSON[httpapi.CrossUse](t, a.must(t, 200, national, "GET", "/v1/statistics/cross-use", "").body)
		if n.Suppressed || len(n.Rows) != 1 || n.Rows[0].Key != "2024/espoo/vantaa" || *n.Rows[0].AdultUses != 1 {
			t.Fatalf("national = %+v", n)
		}
		c := decodeJSON[httpapi.CrossUse](t, a.must(t, 200, coordinatorVantaa, "GET", "/v1/statistics/cross-use", "").body)
		if !c.Suppressed || c.Locality != "vantaa" || len(c.Rows) != 1 || c.Rows[0].AdultUses != nil || !c.Rows[0].Suppressed {
			t.Fatalf("coordinator = %+v", c)
		}
		if ans := a.call(t, national, "GET", "/v1/statistics/cross-use?from=2025&to=2024", ""); ans.status != 400 {
			t.Fatalf("reversed years: %d", ans.status)
		}
	})
	t.Run("the national table of every year", func(t *testing.T) {
		ts := decodeJSON[[]stats.NationalTable](t, a.must(t, 200, venue, "GET", "/v1/statistics/national", "").body)
		if len(ts) != 1 || ts[0].Year != 2024 || ts[0].CardsRegistered != 4 || ts[0].AdultUses != 2 || ts[0].ChildTickets != 1 {
			t.Fatalf("tables = %+v", ts)
		}
	})
}

func TestOpenEndedAgreement(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.seed(t)
	a.must(t, 200, national, "POST", "/v1/localities/espoo/pilot-conclusion", `{"on":"2024-03-01"}`)
	a.must(t, 201, national, "POST", "/v1/partners", `{"id":"espoo-new","locality":"espoo","name":"P","kind":"venue","category":"sport","contact":{"name":"C","email":"c@example.fi","phone":"+358 40 123 4567"},"joinedOn":"2024-04-01"}`)
	a.must(t, 201, coordinator, "POST", "/v1/agreements", `{"id":"open","locality":"espoo","partner":"espoo-new","kind":"network","templateVersion":"2022-1","validFrom":"2024-04-01"}`)
	if ans := a.call(t, coordinator, "POST", "/v1/agreements", `{"id":"pilot-open","locality":"vantaa","partner":"vantaa-hall","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-04-01"}`); ans.status != 403 && ans.status != 400 {
		t.Fatalf("pilot without validUntil: %d %s", ans.status, ans.body)
	}
	if ans := a.call(t, national, "POST", "/v1/agreements", `{"id":"pilot-open","locality":"vantaa","partner":"vantaa-hall","kind":"pilot","templateVersion":"2022-1","validFrom":"2024-04-01"}`); ans.status != 400 || ans.prob.Code != "missing_date" {
		t.Fatalf("pilot without validUntil: %d %s", ans.status, ans.body)
	}
	tl := a.must(t, 200, coordinator, "GET", "/v1/agreements/open/timeline?asOf=2060-01-01", "").body
	if strings.Contains(tl, "expired") || !strings.Contains(tl, `"validUntil":null`) {
		t.Fatalf("timeline = %s", tl)
	}
	if in := a.must(t, 200, coordinator, "GET", "/v1/agreements?inForceOn=2060-01-01", "").body; !strings.Contains(in, `"id":"open"`) {
		t.Fatalf("in force in 2060 = %s", in)
	}
	if n := a.must(t, 200, coordinator, "GET", "/v1/network?asOf=2060-01-01", "").body; !strings.Contains(n, `"id":"open"`) {
		t.Fatalf("network in 2060 = %s", n)
	}
	if c := a.must(t, 200, coordinator, "GET", "/v1/compliance?on=2059-12-31", "").body; strings.Contains(c, `"open"`) {
		t.Fatalf("compliance reports the open-ended agreement: %s", c)
	}
}
