package webapp

import (
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
)

// job is one role's daily job: its page, its form posts, and the API
// route that is the job. Only principals the API lets call that route
// reach the page (requireJob), and every post runs an API route through
// the Caller, so the API's own policy decides every step.
type job struct {
	Path, Title     string // the page and its title's catalog key
	Method, Pattern string // the API route the job is
	page            func(a *App) http.HandlerFunc
	actions         func(a *App) map[string]http.HandlerFunc
}

// jobs are the app's pages per role.
var jobs = []job{
	{Path: "/venue", Title: "home.venue", Method: http.MethodPost, Pattern: "/v1/cards/{id}/uses",
		page: func(a *App) http.HandlerFunc { return a.venuePage },
		actions: func(a *App) map[string]http.HandlerFunc {
			return map[string]http.HandlerFunc{"/venue/uses": a.recordUse}
		}},
	{Path: "/issuer", Title: "home.issuer", Method: http.MethodPost, Pattern: "/v1/cards",
		page: func(a *App) http.HandlerFunc { return a.issuerPage },
		actions: func(a *App) map[string]http.HandlerFunc {
			return map[string]http.HandlerFunc{"/issuer/cards": a.issueCard, "/issuer/cancellations": a.cancelCard}
		}},
}

// flash keeps a done job's message for the page the post redirects to.
const flashCookie = "kaiku_flash"

// flashes are the messages a flash may carry, each with one argument.
var flashes = map[string]bool{"venue.recorded": true, "issuer.issued": true, "issuer.cancelled": true}

func (a *App) setFlash(w http.ResponseWriter, r *http.Request, key, arg string) {
	a.setCookie(w, r, flashCookie, url.Values{"k": {key}, "a": {arg}}.Encode(), 60)
}

// takeFlash reads and clears the flash, translated.
func (a *App) takeFlash(w http.ResponseWriter, r *http.Request, l locale) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	a.setCookie(w, r, flashCookie, "", -1)
	v, err := url.ParseQuery(c.Value)
	if err != nil || !flashes[v.Get("k")] {
		return ""
	}
	if v.Get("k") == "venue.recorded" {
		return l.T(v.Get("k"), v.Get("a"), l.Date(a.today()))
	}
	return l.T(v.Get("k"), v.Get("a"))
}

// one takes the single value of field out of form; ok is false when it is
// missing, empty or sent twice.
func one(form url.Values, field string) (string, bool) {
	v := form[field]
	form.Del(field)
	return firstOf(v), len(v) == 1 && v[0] != ""
}

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// venuePage is the cashier's page: one card field that a scanner can fill
// (Enter submits), and what the use is.
func (a *App) venuePage(w http.ResponseWriter, r *http.Request) {
	a.renderVenue(w, r, http.StatusOK, &page{Flash: a.takeFlash(w, r, localeOf(r))})
}

func (a *App) renderVenue(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	pg.Title = "venue.title"
	pg.UseID = uuid.NewString()
	if g, err := a.cfg.Deps.Commands.Guideline(r.Context()); err == nil {
		if rules, err := g.RulesAt(domain.DateOf(a.today())); err == nil {
			pg.Categories = rules.Categories
		}
	}
	a.render(w, r, status, "venue", pg)
}

// recordUse records a use through POST /v1/cards/{id}/uses.
func (a *App) recordUse(w http.ResponseWriter, r *http.Request) {
	ses, _ := sessionFrom(r.Context())
	form := cloneForm(r.PostForm)
	id, ok := one(form, "card")
	l := localeOf(r)
	if !ok {
		a.renderVenue(w, r, http.StatusBadRequest, &page{Form: r.PostForm,
			Error: &formError{Field: "card", Text: l.T("venue.refused", l.T("problem.missing_field"))}})
		return
	}
	err := a.api.Call(r.Context(), ses.Principal, http.MethodPost, "/v1/cards/"+url.PathEscape(id)+"/uses", form, nil)
	if err != nil {
		fe := problemError(l, err, "venue.refused", "category", "kind", "childTickets", "assistant")
		if fe.Field == "" {
			fe.Field = "card" // a refusal of the rules is about the card
		}
		a.renderVenue(w, r, statusOf(err), &page{Form: r.PostForm, Error: fe})
		return
	}
	a.setFlash(w, r, "venue.recorded", id)
	http.Redirect(w, r, "/venue", http.StatusSeeOther)
}

// issuerPage is the issuing office's page: issue a card (there is no
// field for a name, and the door refuses one) and cancel a card.
func (a *App) issuerPage(w http.ResponseWriter, r *http.Request) {
	a.renderIssuer(w, r, http.StatusOK, &page{Flash: a.takeFlash(w, r, localeOf(r))})
}

func (a *App) renderIssuer(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	pg.Title = "issuer.title"
	pg.LifeSituations, pg.Genders, pg.Reasons = card.LifeSituations, card.Genders, card.CancelReasons
	a.render(w, r, status, "issuer", pg)
}

// issueFields are the issuing form's fields: issueCardRequest's, less
// the issuer (always the signed-in office).
var issueFields = []string{"id", "kind", "holder.birthYear", "holder.postalCode", "holder.minorChildren",
	"holder.lifeSituation", "holder.gender", "issuedOn"}

// issueCard issues a card through POST /v1/cards.
func (a *App) issueCard(w http.ResponseWriter, r *http.Request) {
	ses, _ := sessionFrom(r.Context())
	form := cloneForm(r.PostForm)
	err := a.api.Call(r.Context(), ses.Principal, http.MethodPost, "/v1/cards", form, nil)
	if err != nil {
		fe := problemError(localeOf(r), err, "issuer.refused", issueFields...)
		if fe.Field == "" && domain.CodeOf(err) == card.ErrExists.Code {
			fe.Field = "id"
		}
		a.renderIssuer(w, r, statusOf(err), &page{Form: r.PostForm, Error: fe, In: "issue"})
		return
	}
	a.setFlash(w, r, "issuer.issued", r.PostForm.Get("id"))
	http.Redirect(w, r, "/issuer", http.StatusSeeOther)
}

// cancelCard cancels a card through POST /v1/cards/{id}/cancellation.
func (a *App) cancelCard(w http.ResponseWriter, r *http.Request) {
	ses, _ := sessionFrom(r.Context())
	form := cloneForm(r.PostForm)
	id, ok := one(form, "card")
	l := localeOf(r)
	if !ok {
		a.renderIssuer(w, r, http.StatusBadRequest, &page{Form: r.PostForm, In: "cancel",
			Error: &formError{Field: "card", Text: l.T("issuer.refused", l.T("problem.missing_field"))}})
		return
	}
	err := a.api.Call(r.Context(), ses.Principal, http.MethodPost, "/v1/cards/"+url.PathEscape(id)+"/cancellation", form, nil)
	if err != nil {
		fe := problemError(l, err, "issuer.refused", "reason")
		if fe.Field == "" {
			fe.Field = "card"
		}
		a.renderIssuer(w, r, statusOf(err), &page{Form: r.PostForm, Error: fe, In: "cancel"})
		return
	}
	a.setFlash(w, r, "issuer.cancelled", id)
	http.Redirect(w, r, "/issuer", http.StatusSeeOther)
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
