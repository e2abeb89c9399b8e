package webapp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

// Every answer of the app denies framing and any source but its own.
func TestEveryPageDeniesFramingAndForeignSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	c := e.client(t, "fi")
	for _, path := range []string{"/signin", "/", "/venue", "/nowhere", "/static/app.css"} {
		pg := c.do(http.MethodGet, path, nil)
		csp := pg.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q allows unsafe sources", path, csp)
		}
		if pg.header.Get("X-Frame-Options") != "DENY" || pg.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, pg.header)
		}
	}
	if pg := c.do(http.MethodGet, "/v1/nowhere", nil); pg.status != http.StatusNotFound || !strings.Contains(pg.header.Get("Content-Type"), "problem+json") {
		t.Errorf("/v1/nowhere answered %d %s: the API keeps its own 404", pg.status, pg.header.Get("Content-Type"))
	}
}

func TestSignInOpensASessionWithAStrictCookie(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		e := newEnv(t, tls)
		c := e.client(t, "en")
		pg := c.do(http.MethodGet, "/signin", nil)
		res := c.do(http.MethodPost, "/signin", url.Values{"csrf": {hidden(t, pg.body, "csrf")}, "key": {e.keys[domain.RoleVenue]}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.status)
		}
		var cookie string
		for _, sc := range res.header.Values("Set-Cookie") {
			if strings.Contains(sc, "kaiku_session=") && !strings.Contains(sc, "Max-Age=0") {
				cookie = sc
			}
		}
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("session cookie %q lacks %s", cookie, want)
			}
		}
		if tls != strings.Contains(cookie, "Secure") || tls != strings.HasPrefix(cookie, "__Host-") {
			t.Errorf("behind TLS %v: session cookie %q", tls, cookie)
		}
	}
}

func TestSignInRefusesABadKeyAndAMissingToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	c := e.client(t, "en")
	pg := c.do(http.MethodGet, "/signin", nil)
	bad := c.do(http.MethodPost, "/signin", url.Values{"csrf": {hidden(t, pg.body, "csrf")}, "key": {"kaiku_k_000000000000_" + strings.Repeat("0", 64)}})
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, `role="alert"`) || !strings.Contains(bad.body, `aria-describedby="h-key e-key"`) ||
		!strings.Contains(bad.body, "The key was not accepted") {
		t.Fatalf("bad key: %d\n%s", bad.status, bad.body)
	}
	noToken := e.client(t, "fi").do(http.MethodPost, "/signin", url.Values{"key": {e.keys[domain.RoleVenue]}})
	if noToken.status != http.StatusForbidden || !strings.Contains(noToken.body, "Lomake oli vanhentunut") {
		t.Fatalf("sign-in without the form's token: %d\n%s", noToken.status, noToken.body)
	}
}

func TestAVenueRecordsAUseByForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	c := e.client(t, "fi")
	csrf := c.signIn(domain.RoleVenue)

	t.Run("a post without the session's token records nothing", func(t *testing.T) {
		res := c.do(http.MethodPost, "/venue/uses", url.Values{"card": {"K-0000001"}})
		if res.status != http.StatusForbidden || e.uses(t, "K-0000001") != 0 {
			t.Fatalf("%d, %d uses", res.status, e.uses(t, "K-0000001"))
		}
		res = c.do(http.MethodPost, "/venue/uses", url.Values{"card": {"K-0000001"}, "csrf": {"x" + csrf[1:]}})
		if res.status != http.StatusForbidden || e.uses(t, "K-0000001") != 0 {
			t.Fatalf("wrong token: %d", res.status)
		}
	})
	t.Run("a use is recorded and the page says so", func(t *testing.T) {
		res := c.do(http.MethodPost, "/venue/uses", url.Values{"csrf": {csrf}, "card": {"K-0000001"}, "kind": {"event"}, "category": {""},
			"childTickets": {"1"}, "assistant": {"true"}})
		if res.status != http.StatusSeeOther || e.uses(t, "K-0000001") != 1 {
			t.Fatalf("%d, %d uses\n%s", res.status, e.uses(t, "K-0000001"), res.body)
		}
		pg := c.do(http.MethodGet, "/venue", nil)
		if !strings.Contains(pg.body, "Kortin K-0000001 käyttö kirjattu 3.6.2024.") {
			t.Fatalf("no confirmation:\n%s", pg.body)
		}
	})
	t.Run("the rule's refusal is shown in the user's language, tied to the card field", func(t *testing.T) {
		res := c.do(http.MethodPost, "/venue/uses", url.Values{"csrf": {csrf}, "card": {"K-0000001"}, "childTickets": {"3"}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "lasten lippuja enemmän kuin kortti sallii") ||
			!strings.Contains(res.body, `id="e-card"`) || !strings.Contains(res.body, `aria-describedby="h-card e-card"`) {
			t.Fatalf("%d\n%s", res.status, res.body)
		}
		res = c.do(http.MethodPost, "/venue/uses", url.Values{"csrf": {csrf}, "card": {"K-9999999"}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "korttia ei ole rekisterissä") {
			t.Fatalf("unknown card: %d\n%s", res.status, res.body)
		}
		if e.uses(t, "K-0000001") != 1 {
			t.Fatal("a refused use was recorded")
		}
	})
	t.Run("the form goes through the API's strict door", func(t *testing.T) {
		for field, vals := range map[string][]string{"venue.name": {"x"}, "childTickets": {"1", "2"}, "colour": {"red"}} {
			res := c.do(http.MethodPost, "/venue/uses", url.Values{"csrf": {csrf}, "card": {"K-0000001"}, field: vals})
			if res.status != http.StatusBadRequest {
				t.Errorf("%s=%v: %d", field, vals, res.status)
			}
		}
		if e.uses(t, "K-0000001") != 1 {
			t.Fatal("a refused form recorded a use")
		}
	})
	t.Run("a venue acts only as itself", func(t *testing.T) {
		res := c.do(http.MethodPost, "/venue/uses", url.Values{"csrf": {csrf}, "card": {"K-0000001"}, "venue": {"other-museum"}})
		if res.status != http.StatusForbidden || !strings.Contains(res.body, "roolisi ei voi tehdä tätä") {
			t.Fatalf("%d\n%s", res.status, res.body)
		}
	})
	t.Run("a venue cannot reach the issuing office's page", func(t *testing.T) {
		if pg := c.do(http.MethodGet, "/issuer", nil); pg.status != http.StatusForbidden {
			t.Fatalf("GET /issuer: %d", pg.status)
		}
		if pg := c.do(http.MethodPost, "/issuer/cards", url.Values{"csrf": {csrf}, "id": {"K-0000002"}}); pg.status != http.StatusForbidden {
			t.Fatalf("POST /issuer/cards: %d", pg.status)
		}
	})
	t.Run("signing out ends the session on the server", func(t *testing.T) {
		old := c.http.Jar.Cookies(mustURL(t, e.url))
		if res := c.do(http.MethodPost, "/signout", url.Values{"csrf": {csrf}}); res.status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", res.status)
		}
		c.http.Jar.SetCookies(mustURL(t, e.url), old) // a stolen cookie
		if pg := c.do(http.MethodGet, "/venue", nil); pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), "/signin") {
			t.Fatalf("after sign-out: %d %s", pg.status, pg.header.Get("Location"))
		}
	})
}

func TestAnIssuingOfficeIssuesAndCancelsByForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	c := e.client(t, "en")
	csrf := c.signIn(domain.RoleIssuer)
	pg := c.do(http.MethodGet, "/issuer", nil)
	for _, never := range []string{`name="name"`, `name="holder.name"`, `name="issuer"`, `name="address"`} {
		if strings.Contains(pg.body, never) {
			t.Fatalf("the issuing form has %s", never)
		}
	}
	issue := url.Values{"csrf": {csrf}, "id": {"K-0000002"}, "kind": {"personal"}, "holder.birthYear": {"1980"}, "holder.postalCode": {"02100"},
		"holder.minorChildren": {"1"}, "holder.lifeSituation": {"student"}, "holder.gender": {""}, "issuedOn": {""}}
	if res := c.do(http.MethodPost, "/issuer/cards", issue); res.status != http.StatusSeeOther {
		t.Fatalf("issue: %d\n%s", res.status, res.body)
	}
	if pg := c.do(http.MethodGet, "/issuer", nil); !strings.Contains(pg.body, "Card K-0000002 issued.") {
		t.Fatalf("no confirmation\n%s", pg.body)
	}
	if _, err := e.commands.LoadCard(t.Context(), "K-0000002"); err != nil {
		t.Fatal(err)
	}
	again := c.do(http.MethodPost, "/issuer/cards", issue)
	if again.status != http.StatusUnprocessableEntity || !strings.Contains(again.body, "already registered") || !strings.Contains(again.body, `id="e-id"`) {
		t.Fatalf("issuing twice: %d\n%s", again.status, again.body)
	}
	issue.Set("holder.postalCode", "")
	if res := c.do(http.MethodPost, "/issuer/cards", issue); res.status != http.StatusBadRequest || !strings.Contains(res.body, `aria-describedby="e-holder-postalCode"`) {
		t.Fatalf("missing postal code: %d\n%s", res.status, res.body)
	}
	named := url.Values{"csrf": {csrf}, "id": {"K-0000003"}, "kind": {"personal"}, "holder.postalCode": {"02100"}, "holder.minorChildren": {"0"}, "holder.name": {"Matti Meikäläinen"}}
	if res := c.do(http.MethodPost, "/issuer/cards", named); res.status != http.StatusBadRequest || !strings.Contains(res.body, "personal data of a holder is never recorded") {
		t.Fatalf("a name: %d\n%s", res.status, res.body)
	}
	if res := c.do(http.MethodPost, "/issuer/cancellations", url.Values{"csrf": {csrf}, "card": {"K-0000002"}, "reason": {"moved_away"}}); res.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%s", res.status, res.body)
	}
	cd, err := e.commands.LoadCard(t.Context(), "K-0000002")
	if err != nil || cd.CancelledOn().IsZero() {
		t.Fatalf("card after cancellation: %v", err)
	}
	if pg := c.do(http.MethodGet, "/venue", nil); pg.status != http.StatusForbidden {
		t.Fatalf("an issuer reached the venue page: %d", pg.status)
	}
}

// A role with no job in the app yet gets a page saying so, and no job's page.
func TestARoleWithoutAJobReachesNoJobPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	c := e.client(t, "en")
	c.signIn(domain.RoleCoordinator)
	if pg := c.do(http.MethodGet, "/", nil); pg.status != http.StatusOK || !strings.Contains(pg.body, "no pages for your role") {
		t.Fatalf("home: %d\n%s", pg.status, pg.body)
	}
	for _, p := range []string{"/venue", "/issuer"} {
		if pg := c.do(http.MethodGet, p, nil); pg.status != http.StatusForbidden {
			t.Fatalf("%s: %d", p, pg.status)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
