package webapp_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/adapters/webapp"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// today is the app's clock in these tests.
var today = time.Date(2024, 6, 3, 10, 0, 0, 0, time.UTC)

var (
	nationalMD = domain.Metadata{Principal: domain.Principal{Role: domain.RoleNational, KeyID: "k_seed"}}
	venueP     = domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum"}
	issuerP    = domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1"}
	coordP     = domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo"}
)

// env is `kaiku serve`'s HTTP stack (the API with the app at /) over a
// fresh database holding a small network: Espoo, its issuing office
// espoo-sos-1 (approved, committed), its museum espoo-museum, and card
// K-0000001 (two minor children).
type env struct {
	pool     *pgxpool.Pool
	commands *command.Handler
	url      string
	keys     map[domain.Role]string
}

func newEnv(t testing.TB, behindTLS bool) *env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	h := command.New(store, command.WithRetries(8), command.WithClock(func() time.Time { return today }))
	seed(t, ctx, h)
	deps := httpapi.Deps{Commands: h, Now: func() time.Time { return today }}
	keys := postgres.NewAPIKeys(pool)
	app := webapp.New(webapp.Config{Deps: deps, Keys: keys, Sessions: postgres.NewSessions(pool, time.Minute, time.Hour), BehindTLSProxy: behindTLS})
	srv := httpapi.New(httpapi.Config{Keys: keys, Idempotency: postgres.NewIdempotency(pool), Routes: httpapi.Routes(deps), App: app.Handler()})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{pool: pool, commands: h, url: ts.URL, keys: map[domain.Role]string{}}
	for _, p := range []domain.Principal{venueP, issuerP, coordP} {
		k, _, err := keys.Create(ctx, p, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.keys[p.Role] = k
	}
	return e
}

func seed(t testing.TB, ctx context.Context, h *command.Handler) {
	t.Helper()
	d := domain.MustDate
	g := guideline.National2022()
	steps := []func() (command.Result, error){
		func() (command.Result, error) {
			return h.RegisterLocality(ctx, nationalMD, command.RegisterLocality{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"},
				Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")})
		},
		func() (command.Result, error) {
			return h.ReviseGuideline(ctx, nationalMD, command.ReviseGuideline{Version: g.Version, AdoptedOn: g.AdoptedOn, EffectiveFrom: g.EffectiveFrom, Rules: g.Rules})
		},
		func() (command.Result, error) {
			return h.JoinPartner(ctx, nationalMD, command.JoinPartner{ID: "espoo-sos-1", Locality: "espoo", Name: "Espoon sosiaalitoimisto",
				Kind: partner.KindIssuer, Category: partner.CategorySocial, Contact: domain.Person{Name: "Anna Virtanen"}, JoinedOn: d("2024-01-15")})
		},
		func() (command.Result, error) {
			return h.ApproveIssuer(ctx, nationalMD, command.ApproveIssuer{Partner: "espoo-sos-1", On: d("2024-02-01")})
		},
		func() (command.Result, error) {
			return h.CommitToGuideline(ctx, nationalMD, command.CommitToGuideline{Partner: "espoo-sos-1", GuidelineVersion: "2022", Via: partner.ViaAgreement, On: d("2024-01-15")})
		},
		func() (command.Result, error) {
			return h.JoinPartner(ctx, nationalMD, command.JoinPartner{ID: "espoo-museum", Locality: "espoo", Name: "Espoon kaupunginmuseo",
				Kind: partner.KindVenue, Category: partner.CategoryCulture, Contact: domain.Person{Name: "Bert Lindqvist"}, JoinedOn: d("2024-01-15")})
		},
		func() (command.Result, error) {
			return h.IssueCard(ctx, domain.Metadata{Principal: issuerP}, command.IssueCard{ID: "K-0000001", Issuer: "espoo-sos-1", IssuedOn: d("2024-03-01"),
				Kind: card.KindPersonal, Holder: card.Holder{BirthYear: 1971, PostalCode: "02100", MinorChildren: 2}})
		},
	}
	for i, s := range steps {
		if _, err := s(); err != nil {
			t.Fatalf("seed step %d: %v", i, err)
		}
	}
}

// client is a browser without JavaScript: a cookie jar, no redirects
// followed unless asked, a language.
type client struct {
	t    testing.TB
	e    *env
	http *http.Client
	lang string
}

func (e *env) client(t testing.TB, lang string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, e: e, lang: lang, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values) page {
	c.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, c.e.url+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", c.lang)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{status: resp.StatusCode, header: resp.Header, body: b.String()}
}

// hidden returns the value of the hidden input name in body.
func hidden(t testing.TB, body, name string) string {
	t.Helper()
	marker := `name="` + name + `" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no hidden %s in page:\n%s", name, body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// signIn signs c in with role's key and returns the session's CSRF token.
func (c *client) signIn(role domain.Role) string {
	c.t.Helper()
	pg := c.do(http.MethodGet, "/signin", nil)
	res := c.do(http.MethodPost, "/signin", url.Values{"csrf": {hidden(c.t, pg.body, "csrf")}, "key": {c.e.keys[role]}})
	if res.status != http.StatusSeeOther {
		c.t.Fatalf("sign-in as %s: %d\n%s", role, res.status, res.body)
	}
	home := c.do(http.MethodGet, "/", nil)
	if home.status != http.StatusSeeOther {
		return hidden(c.t, home.body, "csrf")
	}
	job := c.do(http.MethodGet, home.header.Get("Location"), nil)
	return hidden(c.t, job.body, "csrf")
}

// uses counts the uses recorded on card id.
func (e *env) uses(t testing.TB, id card.ID) int {
	t.Helper()
	c, err := e.commands.LoadCard(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(c.Uses())
}
