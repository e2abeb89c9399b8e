package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/domain"
)

// Caller runs the API's routes in-process for another adapter (the web
// app), so that both share one door and one policy: the same role gate
// (Allowed), the same request types decoded as strictly (DecodeForm), the
// same handlers with their scope checks (Authorize) and the same commands
// and read models. Whatever the API would refuse a principal, a Caller
// refuses with the same error.
type Caller struct {
	mux    *chi.Mux
	routes map[string]Route // by method and pattern
}

// NewCaller returns a Caller over routes (Routes(deps)).
func NewCaller(routes []Route) *Caller {
	c := &Caller{mux: chi.NewRouter(), routes: map[string]Route{}}
	c.mux.NotFound(func(w http.ResponseWriter, r *http.Request) { outcomeOf(r).err = errNoRoute })
	c.mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { outcomeOf(r).err = errMethod })
	for _, rt := range routes {
		c.routes[rt.Method+" "+rt.Pattern] = rt
		c.mux.Method(rt.Method, rt.Pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o := outcomeOf(r)
			p, _ := PrincipalFrom(r.Context())
			switch {
			case rt.Public:
			case p.Role == "":
				o.err = errUnauthenticated
				return
			case !Allowed(p.Role, r.Method, rt.Roles):
				o.err = &domain.Forbidden{Message: fmt.Sprintf("role %s may not %s %s", p.Role, r.Method, r.URL.Path)}
				return
			}
			if o.form != nil {
				if rt.Request == nil || rt.RequestContentType != "" {
					o.err = fmt.Errorf("httpapi: route %s %s takes no form", rt.Method, rt.Pattern)
					return
				}
				body, err := formBody(o.form, reflect.TypeOf(rt.Request))
				if err != nil {
					o.err = err
					return
				}
				r.Body = readCloser{bytes.NewReader(body)}
				r.Header.Set("Content-Type", "application/json")
			}
			o.err = rt.Handler(w, r)
		}))
	}
	return c
}

// Allowed reports whether the role gate lets p call the route method
// pattern ("POST", "/v1/cards/{id}/uses"); false for a route the API
// does not have. The app shows a page only to whom the API would let do
// its job.
func (c *Caller) Allowed(p domain.Principal, method, pattern string) bool {
	rt, ok := c.routes[method+" "+pattern]
	return ok && (rt.Public || (p.Role != "" && Allowed(p.Role, method, rt.Roles)))
}

// Call runs method path (with its query) as p. A non-nil form is the
// request body, read into the route's request type as DecodeForm reads
// it. On success the route's JSON answer is decoded into out (when not
// nil); otherwise Call returns the error the route returned, unchanged
// (a *domain.Invalid, *domain.Forbidden, a refusal of a domain rule, an
// error wrapping domain.ErrNotFound …), for the caller to show. ctx
// should carry the request's correlation (Correlate), as it is recorded
// in the events' metadata.
func (c *Caller) Call(ctx context.Context, p domain.Principal, method, path string, form url.Values, out any) error {
	o := &outcome{form: form}
	r, err := http.NewRequestWithContext(context.WithValue(WithPrincipal(ctx, p), outcomeKey{}, o), method, path, http.NoBody)
	if err != nil {
		return fmt.Errorf("httpapi: call %s %s: %w", method, path, err)
	}
	w := &answer{header: http.Header{}, status: http.StatusOK}
	c.mux.ServeHTTP(w, r)
	if o.err != nil {
		return o.err
	}
	if w.status >= 300 {
		return fmt.Errorf("httpapi: call %s %s: status %d", method, path, w.status)
	}
	if out != nil {
		if err := json.Unmarshal(w.body.Bytes(), out); err != nil {
			return fmt.Errorf("httpapi: call %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

type outcomeKey struct{}

type outcome struct {
	form url.Values
	err  error
}

func outcomeOf(r *http.Request) *outcome {
	o, _ := r.Context().Value(outcomeKey{}).(*outcome)
	if o == nil {
		panic(errors.New("httpapi: Caller's handler reached without its outcome"))
	}
	return o
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// answer keeps a route's answer.
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *answer) Header() http.Header         { return w.header }
func (w *answer) WriteHeader(status int)      { w.status = status }
func (w *answer) Write(b []byte) (int, error) { return w.body.Write(b) }
