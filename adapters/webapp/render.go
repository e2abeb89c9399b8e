package webapp

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/kaiku/kaiku/adapters/httpapi"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"signin", "home", "message", "venue", "issuer"}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		out[n] = template.Must(template.New("layout.html").ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html"))
	}
	return out
}

// page is what every template gets. Texts are catalog keys, translated
// in the template with .T.
type page struct {
	locale
	Title, Text, Notice string
	Ref                 string // a correlation id to quote
	CSRF                string
	Who                 string
	Path                string
	Flash               string // a done job, already translated
	In                  string // which of a page's forms Error belongs to
	Error               *formError
	Form                url.Values
	Jobs                []job
	// The choices of the forms.
	Categories, Reasons, LifeSituations, Genders []string
	UseID                                        string
}

// formError is the error a form came back with, in the user's language:
// Field is the form field it belongs to ("" for the whole form).
type formError struct {
	Field string
	Text  string
}

// ID is the HTML id of a form field ("holder.birthYear" → "f-holder-birthYear").
func (p *page) ID(field string) string { return "f-" + strings.ReplaceAll(field, ".", "-") }

// Val is a field's value as sent, to fill the form again after an error.
func (p *page) Val(field string) string { return p.Form.Get(field) }

// Invalid reports whether the error belongs to field.
func (p *page) Invalid(field string) bool { return p.Error != nil && p.Error.Field == field }

// Describe is a field's aria-describedby: its hint (when it has one) and
// its error (when the error is its own).
func (p *page) Describe(field string, hint bool) string {
	var ids []string
	if hint {
		ids = append(ids, "h"+p.ID(field)[1:])
	}
	if p.Invalid(field) {
		ids = append(ids, "e"+p.ID(field)[1:])
	}
	return strings.Join(ids, " ")
}

// Label is the translation of code under prefix ("category.", "life."),
// or the code itself when the catalog has none (a category a later
// guideline added).
func (p *page) Label(prefix, code string) string {
	if p.Has(prefix + code) {
		return p.T(prefix + code)
	}
	return code
}

// LangSwitch is the link that switches to lang and comes back here.
func (p *page) LangSwitch(lang string) string {
	return "/lang?" + url.Values{"to": {lang}, "back": {p.Path}}.Encode()
}

// render executes the page template name with pg in r's language.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, pg *page) {
	pg.locale = localeOf(r)
	pg.Path = r.URL.Path
	if ses, ok := sessionFrom(r.Context()); ok {
		pg.Who = who(pg.locale, ses.Principal)
		if pg.CSRF == "" {
			pg.CSRF = ses.CSRF
		}
	}
	var b bytes.Buffer
	if err := a.pages[name].Execute(&b, pg); err != nil {
		slog.ErrorContext(r.Context(), "web app template failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, _ = b.WriteTo(w)
}

// problemError turns an error of the API into the form's error in the
// user's language: the field it names (when the form has it) and the
// refusal reason by its code, within the message of key.
func problemError(l locale, err error, key string, fields ...string) *formError {
	pr := httpapi.ProblemFor(err)
	reason := l.T("problem.other", pr.Code)
	if l.Has("problem." + pr.Code) {
		reason = l.T("problem." + pr.Code)
	}
	fe := &formError{Text: l.T(key, reason)}
	for _, f := range fields {
		if f == pr.Field {
			fe.Field = f
		}
	}
	return fe
}

// statusOf is the status the API answers err with.
func statusOf(err error) int { return httpapi.ProblemFor(err).Status }
