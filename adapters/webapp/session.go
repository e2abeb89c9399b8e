package webapp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// The cookies. With Secure, the session cookie takes the __Host- prefix,
// which browsers accept only Secure, host-only and for path /.
const (
	sessionCookie = "kaiku_session"
	signinCookie  = "kaiku_signin" // the sign-in form's CSRF token (double submit)
)

func (a *App) sessionCookieName(r *http.Request) string {
	if a.secure(r) {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

func (a *App) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
}

type sessionKey struct{}

type session struct {
	postgres.Session
	token string
}

func sessionFrom(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// requireSession lets a request on with its live session in the context
// and sends anyone else to sign in.
func (a *App) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(a.sessionCookieName(r))
		if err != nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		ses, err := a.cfg.Sessions.Get(r.Context(), c.Value)
		if errors.Is(err, domain.ErrNotFound) {
			a.setCookie(w, r, a.sessionCookieName(r), "", -1)
			http.Redirect(w, r, "/signin?ended=1", http.StatusSeeOther)
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, session{Session: ses, token: c.Value})))
	})
}

// checkCSRF refuses a POST whose csrf field is not the session's token.
func (a *App) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			ses, _ := sessionFrom(r.Context())
			if err := r.ParseForm(); err != nil || !sameToken(r.PostForm["csrf"], ses.CSRF) {
				a.render(w, r, http.StatusForbidden, "message", &page{Title: "forbidden.title", Text: "csrf.bad"})
				return
			}
			r.PostForm.Del("csrf")
		}
		next.ServeHTTP(w, r)
	})
}

// sameToken: exactly one value, equal to want in constant time.
func sameToken(got []string, want string) bool {
	return want != "" && len(got) == 1 && subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) == 1
}

func (a *App) signinPage(w http.ResponseWriter, r *http.Request) {
	pg := &page{Title: "signin.title"}
	switch {
	case r.URL.Query().Get("ended") != "":
		pg.Notice = "signin.ended"
	case r.URL.Query().Get("out") != "":
		pg.Notice = "signin.signedOut"
	}
	a.renderSignin(w, r, http.StatusOK, pg)
}

// renderSignin renders the sign-in form with a fresh double-submit token.
func (a *App) renderSignin(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	pg.CSRF = base64.RawURLEncoding.EncodeToString(b[:])
	a.setCookie(w, r, signinCookie, pg.CSRF, 0)
	a.render(w, r, status, "signin", pg)
}

// signin checks the form's token against its cookie, authenticates the key
// as the API does and opens a session.
func (a *App) signin(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Cookie(signinCookie)
	if err := r.ParseForm(); err != nil || c == nil || !sameToken(r.PostForm["csrf"], c.Value) {
		a.renderSignin(w, r, http.StatusForbidden, &page{Title: "signin.title", Error: &formError{Text: localeOf(r).T("csrf.bad")}})
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	p, err := a.cfg.Keys.Authenticate(r.Context(), key)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && len(r.PostForm["key"]) != 1) {
		a.renderSignin(w, r, http.StatusUnauthorized, &page{Title: "signin.title", Error: &formError{Field: "key", Text: localeOf(r).T("signin.bad")}})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	token, _, err := a.cfg.Sessions.Open(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.setCookie(w, r, signinCookie, "", -1)
	a.setCookie(w, r, a.sessionCookieName(r), token, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) signout(w http.ResponseWriter, r *http.Request) {
	ses, _ := sessionFrom(r.Context())
	if err := a.cfg.Sessions.Close(r.Context(), ses.token); err != nil {
		a.fail(w, r, err)
		return
	}
	a.setCookie(w, r, a.sessionCookieName(r), "", -1)
	http.Redirect(w, r, "/signin?out=1", http.StatusSeeOther)
}

// switchLanguage keeps the chosen language in a cookie and goes back to
// the page it was chosen on (a path of this app only).
func (a *App) switchLanguage(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to == "fi" || to == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: to, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
	}
	back := r.URL.Query().Get("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// home lists the pages the principal's role may use.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	ses, _ := sessionFrom(r.Context())
	var mine []job
	for _, j := range jobs {
		if a.api.Allowed(ses.Principal, j.Method, j.Pattern) {
			mine = append(mine, j)
		}
	}
	if len(mine) == 1 {
		http.Redirect(w, r, mine[0].Path, http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, "home", &page{Title: "home.title", Jobs: mine})
}

// requireJob lets only the roles the job's API route admits reach its
// pages: the app never shows what the API would refuse.
func (a *App) requireJob(j job) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ses, _ := sessionFrom(r.Context())
			if !a.api.Allowed(ses.Principal, j.Method, j.Pattern) {
				a.render(w, r, http.StatusForbidden, "message", &page{Title: "forbidden.title", Text: "forbidden.text"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// fail answers an unexpected error with a page quoting the correlation id.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	pg := &page{Title: "error.title", Text: "error.text", Ref: string(httpapi.CorrelationIDFrom(r.Context()))}
	slog.ErrorContext(r.Context(), "web app request failed", "path", r.URL.Path, "correlationId", pg.Ref, "err", err)
	a.render(w, r, http.StatusInternalServerError, "message", pg)
}
