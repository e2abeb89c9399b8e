package webapp

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the App needs. Deps, Keys and Sessions are required.
type Config struct {
	// Deps are the API's dependencies: the app runs the API's own routes
	// (httpapi.Routes(Deps)) in-process through an httpapi.Caller.
	Deps httpapi.Deps
	// Keys authenticates the API key a user signs in with (postgres.APIKeys).
	Keys httpapi.Authenticator
	// Sessions keeps the signed-in browsers.
	Sessions *postgres.Sessions
	// BehindTLSProxy marks cookies Secure although requests arrive over
	// plain HTTP (a TLS-terminating proxy in front). Requests that arrive
	// over TLS get Secure cookies anyway.
	BehindTLSProxy bool
	// MaxFormBytes caps a form post; 0 means 16 KiB.
	MaxFormBytes int64
}

// Validate reports a missing dependency.
func (c Config) Validate() error {
	switch {
	case c.Deps.Commands == nil:
		return errors.New("webapp: Config.Deps.Commands is required")
	case c.Keys == nil:
		return errors.New("webapp: Config.Keys is required")
	case c.Sessions == nil:
		return errors.New("webapp: Config.Sessions is required")
	}
	return nil
}

// App is Kaiku's web app: server-rendered pages for the people of the
// network, on the API's authorization (see httpapi.Caller).
type App struct {
	cfg     Config
	api     *httpapi.Caller
	pages   map[string]*template.Template
	handler http.Handler
}

// New builds the app. It panics when cfg.Validate fails or a template
// does not parse: both are programming errors the first test finds.
func New(cfg Config) *App {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.MaxFormBytes == 0 {
		cfg.MaxFormBytes = 16 << 10
	}
	a := &App{cfg: cfg, api: httpapi.NewCaller(httpapi.Routes(cfg.Deps)), pages: parsePages()}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(httpapi.Correlate, httpapi.Recover, securityHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusNotFound, "message", &page{Title: "notfound.title", Text: "notfound.text"})
	})
	r.Handle("/static/*", http.StripPrefix("/static/", immutable(http.FileServerFS(static))))
	r.Get("/lang", a.switchLanguage)
	r.Get("/signin", a.signinPage)
	r.With(a.limitForm).Post("/signin", a.signin)
	r.Group(func(r chi.Router) {
		r.Use(a.requireSession, a.limitForm, a.checkCSRF)
		r.Get("/", a.home)
		r.Post("/signout", a.signout)
		for _, j := range jobs {
			r.With(a.requireJob(j)).Get(j.Path, j.page(a))
			for path, h := range j.actions(a) {
				r.With(a.requireJob(j)).Post(path, h)
			}
		}
	})
	a.handler = r
	return a
}

// Handler returns the app as one http.Handler, to be served at /.
func (a *App) Handler() http.Handler { return a.handler }

// secure tells whether cookies must be Secure for r.
func (a *App) secure(r *http.Request) bool { return r.TLS != nil || a.cfg.BehindTLSProxy }

// limitForm caps form bodies.
func (a *App) limitForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// immutable marks the static files (their names carry their versions)
// cacheable for a year.
func immutable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders denies framing, sniffing and every source but the
// app's own: no inline script or style, forms post only to the app.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// today is the business date of the app's clock.
func (a *App) today() time.Time {
	if a.cfg.Deps.Now == nil {
		return time.Now().UTC()
	}
	return a.cfg.Deps.Now().UTC()
}

// who describes a principal in the user's language.
func who(l locale, p domain.Principal) string {
	switch p.Role {
	case domain.RoleVenue, domain.RoleIssuer:
		return l.T("role."+string(p.Role), p.Partner)
	case domain.RoleCoordinator:
		return l.T("role.coordinator", p.Locality)
	}
	return l.T("role." + string(p.Role))
}
