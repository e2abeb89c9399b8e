package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/disclosure"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// CardCheck is GET /v1/cards/{id}: what the counter needs to admit the
// holder, and for the card's own locality (its issuer offices and
// coordinator), national and auditors also the background and this
// year's uses.
type CardCheck struct {
	ID     card.ID     `json:"id"`
	Status card.Status `json:"status"`
	// On is the date the check answers for (today).
	On         domain.Date `json:"on"`
	ValidUntil domain.Date `json:"validUntil"`
	Kind       card.Kind   `json:"kind,omitempty"`
	// ChildTickets is how many children's tickets a use may take along.
	ChildTickets int `json:"childTickets"`
	// Successor is the card that replaced this one (status replaced).
	Successor card.ID `json:"successor,omitempty"`
	// Venue is the venue the check was made for (the calling venue, or
	// the venue query parameter); UsableHere and Reason answer whether a
	// use there today would be accepted, and if not, its code.
	Venue        partner.ID      `json:"venue,omitempty"`
	UsableHere   *bool           `json:"usableHere,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	Background   *CardBackground `json:"background,omitempty"`
	UsesThisYear []cards.Use     `json:"usesThisYear,omitempty"`
}

// CardBackground is a card's registration: never a name, identity code,
// birth date or address (the register has none).
type CardBackground struct {
	Issuer      partner.ID    `json:"issuer"`
	Locality    locality.ID   `json:"locality"`
	IssuedOn    domain.Date   `json:"issuedOn"`
	Replaces    card.ID       `json:"replaces,omitempty"`
	CancelledOn domain.Date   `json:"cancelledOn"`
	ReplacedOn  domain.Date   `json:"replacedOn"`
	Periods     []card.Period `json:"periods"`
	Holder      card.Holder   `json:"holder"`
}

// UsesPage is GET /v1/uses: one page of a venue's own uses by position.
// Next is the link to the following page ("" on the last); NextAfter its
// after parameter.
type UsesPage struct {
	Uses      []cards.Use     `json:"uses"`
	Next      string          `json:"next,omitempty"`
	NextAfter domain.Position `json:"nextAfter,omitempty"`
}

// GuidelineVersion is one version of the national guideline with the
// rules the system enforces and counts by.
type GuidelineVersion struct {
	Version       guideline.Version `json:"version"`
	AdoptedOn     domain.Date       `json:"adoptedOn"`
	EffectiveFrom domain.Date       `json:"effectiveFrom"`
	// EffectiveUntil is the last day before the next version took effect;
	// null for the version in force until further notice.
	EffectiveUntil domain.Date     `json:"effectiveUntil"`
	Rules          guideline.Rules `json:"rules"`
}

// CrossUse is GET /v1/statistics/cross-use.
type CrossUse struct {
	Locality   locality.ID         `json:"locality,omitempty"`
	From       int                 `json:"from,omitempty"`
	To         int                 `json:"to,omitempty"`
	Suppressed bool                `json:"suppressed"`
	Rows       []stats.CrossUseRow `json:"rows"`
}

// deskRoutes are the routes of the people at the counter and at the desk:
// the card check, a venue's own uses, the lists of localities, partners
// and guideline versions, the cross-use figures and the national table of
// every year.
func deskRoutes(d Deps) []Route {
	everyone := []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleIssuer, domain.RoleVenue, domain.RoleAuditor}
	loc := QueryParam{Name: "locality", Description: "Limit to one locality; coordinators, issuers and venues default to (and may only ask for) their own."}
	return []Route{
		{Method: http.MethodGet, Pattern: "/v1/cards/{id}", Roles: everyone,
			Summary:  "The card check: status, valid until, children's tickets and whether a use at this venue today would be accepted (reason code when not); the card's own locality, national and auditors also see the background and this year's uses. An unknown well-formed card is not_registered.",
			Response: CardCheck{}, Handler: d.cardCheck,
			Query: []QueryParam{{Name: "venue", Description: "The venue to check against (a venue always checks against itself)."}}},
		{Method: http.MethodGet, Pattern: "/v1/uses", Roles: []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleVenue, domain.RoleAuditor},
			Summary: "A venue's own uses by position, paged with after and a next link, cancelled ones marked.", Response: UsesPage{}, Handler: d.venueUses,
			Query: []QueryParam{{Name: "venue", Description: "The venue; a venue lists its own (the default)."},
				{Name: "from", Format: "date", Description: "First use date (inclusive)."},
				{Name: "to", Format: "date", Description: "Last use date (inclusive)."},
				{Name: "after", Format: "integer", Description: "Only uses after this position (the next link sets it)."},
				{Name: "limit", Format: "integer", Description: "Page size, at most 1000."}}},
		{Method: http.MethodGet, Pattern: "/v1/localities", Roles: everyone,
			Summary: "The localities with their scope, municipalities and state today (those that left included).", Response: []network.Member{}, Handler: d.localities,
			Query: []QueryParam{loc}},
		{Method: http.MethodGet, Pattern: "/v1/partners", Roles: everyone,
			Summary: "The partners with their kind, category and state.", Response: []contacts.Partner{}, Handler: d.partners,
			Query: []QueryParam{loc, {Name: "kind", Description: "issuer or venue."},
				{Name: "category", Description: "social, health, wellbeing, ngo, culture, education, science or sport."},
				{Name: "status", Description: "joined, approved or left."}}},
		{Method: http.MethodGet, Pattern: "/v1/guidelines", Roles: everyone,
			Summary: "Every version of the national guideline with its rules, in effective order.", Response: []GuidelineVersion{}, Handler: d.guidelines},
		{Method: http.MethodGet, Pattern: "/v1/guidelines/{version}", Roles: everyone,
			Summary: "One version of the national guideline with its rules.", Response: GuidelineVersion{}, Handler: d.guidelineVersion},
		{Method: http.MethodGet, Pattern: "/v1/statistics/cross-use", Roles: []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleAuditor},
			Summary:  "Uses of cards outside their home locality (national-scope cards) by year, home locality and venue locality; small cells suppressed for every role but national.",
			Response: CrossUse{}, Handler: d.crossUse,
			Query: []QueryParam{{Name: "locality", Description: "Rows where this locality is home or venue; a coordinator's own (the default)."},
				{Name: "from", Format: "integer", Description: "First year."}, {Name: "to", Format: "integer", Description: "Last year."}}},
		{Method: http.MethodGet, Pattern: "/v1/statistics/national", Roles: everyone,
			Summary: "The published national annual table of every year with registrations or uses.", Response: []stats.NationalTable{}, Handler: d.nationalYears},
	}
}

// canSeeBackground reports whether p may see card c's registration and
// uses: national and auditors, and an issuer office or coordinator of the
// card's locality.
func (d Deps) canSeeBackground(ctx context.Context, p domain.Principal, c cards.Card) bool {
	switch p.Role {
	case domain.RoleNational, domain.RoleAuditor:
		return true
	case domain.RoleCoordinator:
		return p.Locality != "" && locality.ID(p.Locality) == c.Standing.Locality
	case domain.RoleIssuer:
		pt, err := d.Commands.LoadPartner(ctx, partner.ID(p.Partner))
		return err == nil && pt.Facts().Kind == partner.KindIssuer && pt.Facts().Locality == c.Standing.Locality
	}
	return false
}

func (d Deps) cardCheck(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	id, err := card.ParseID(pathID(r))
	if err != nil {
		return err
	}
	venue := partner.ID(r.URL.Query().Get("venue"))
	if p.Role == domain.RoleVenue {
		if venue != "" && string(venue) != p.Partner {
			return &domain.Forbidden{Message: fmt.Sprintf("venue %s checks cards only for itself, not for %q", p.Partner, venue)}
		}
		venue = partner.ID(p.Partner)
	}
	cq, err := d.Views.Cards(ctx)
	if err != nil {
		return err
	}
	today := domain.DateOf(d.today())
	out := CardCheck{ID: id, On: today, Venue: venue}
	c, f, err := cq.Check(ctx, id, venue)
	if errors.Is(err, domain.ErrNotFound) {
		out.Status = card.StatusNotRegistered
		if venue != "" {
			out.UsableHere, out.Reason = new(bool), card.ErrNotRegistered.Code
		}
		return WriteJSON(w, http.StatusOK, out)
	}
	if err != nil {
		return err
	}
	s := c.Standing
	out.Status, out.ValidUntil, out.Kind, out.ChildTickets = s.StatusOn(today), s.ValidUntil(), c.Kind, s.MinorChildren
	if out.Status == card.StatusReplaced {
		out.Successor = s.ReplacedBy
	}
	if venue != "" {
		usable := true
		if err := s.UsableAt(today, f); err != nil {
			usable, out.Reason = false, domain.CodeOf(err)
		}
		out.UsableHere = &usable
	}
	if d.canSeeBackground(ctx, p, c) {
		out.Background = &CardBackground{Issuer: c.Issuer, Locality: s.Locality, IssuedOn: s.IssuedOn, Replaces: c.Replaces,
			CancelledOn: s.CancelledOn, ReplacedOn: s.ReplacedOn, Periods: nonNil(s.Periods), Holder: c.Holder}
		y := today.Year()
		if out.UsesThisYear, err = cq.CardUses(ctx, id, domain.NewDate(y, time.January, 1), domain.NewDate(y, time.December, 31)); err != nil {
			return err
		}
		out.UsesThisYear = nonNil(out.UsesThisYear)
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (d Deps) venueUses(w http.ResponseWriter, r *http.Request) error {
	ctx, q, p := r.Context(), r.URL.Query(), principal(r)
	venue := partner.ID(q.Get("venue"))
	switch p.Role {
	case domain.RoleVenue:
		if venue == "" {
			venue = partner.ID(p.Partner)
		}
		if err := Authorize(p, Scope{Partner: string(venue)}); err != nil {
			return err
		}
	case domain.RoleCoordinator:
		if venue == "" {
			return domain.Invalidf("missing_field", "venue", "name the venue whose uses to list")
		}
		pt, err := d.Commands.LoadPartner(ctx, venue)
		if err != nil {
			return err
		}
		if err := scopeLocality(p, pt.Facts().Locality); err != nil {
			return err
		}
	default:
		if venue == "" {
			return domain.Invalidf("missing_field", "venue", "name the venue whose uses to list")
		}
	}
	f := cards.UseFilter{Venue: venue}
	var err error
	if f.From, err = queryDate(q, "from"); err != nil {
		return err
	}
	if f.To, err = queryDate(q, "to"); err != nil {
		return err
	}
	after, err := queryInt(q, "after", 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(q, "limit", 1, cards.MaxLimit)
	if err != nil {
		return err
	}
	f.After, f.Limit = domain.Position(after), int(limit)
	cq, err := d.Views.Cards(ctx)
	if err != nil {
		return err
	}
	page, err := cq.VenueUses(ctx, f)
	if err != nil {
		return err
	}
	out := UsesPage{Uses: nonNil(page.Uses)}
	if page.Next > 0 {
		out.Next, out.NextAfter = nextLink(w, r, page.Next), page.Next
	}
	return WriteJSON(w, http.StatusOK, out)
}

// nextLink returns the link to the page after position next and sets it
// as the Link header.
func nextLink(w http.ResponseWriter, r *http.Request, next domain.Position) string {
	q := r.URL.Query()
	q.Set("after", strconv.FormatInt(int64(next), 10))
	link := r.URL.Path + "?" + q.Encode()
	w.Header().Set("Link", "<"+link+`>; rel="next"`)
	return link
}

func (d Deps) localities(w http.ResponseWriter, r *http.Request) error {
	loc, err := d.readLocality(r.Context(), principal(r), r.URL.Query().Get("locality"))
	if err != nil {
		return err
	}
	nq, err := d.Views.Network(r.Context())
	if err != nil {
		return err
	}
	ls, err := nq.Localities(r.Context(), loc, domain.DateOf(d.today()))
	if err != nil {
		return err
	}
	for i := range ls {
		ls[i].Municipalities = nonNil(ls[i].Municipalities)
	}
	return WriteJSON(w, http.StatusOK, nonNil(ls))
}

// oneOf checks the query parameter name against the allowed values ("" is
// always allowed: no filter).
func oneOf[T ~string](q url.Values, name string, allowed ...T) (T, error) {
	v := T(q.Get(name))
	if v == "" || slices.Contains(allowed, v) {
		return v, nil
	}
	return "", domain.Invalidf("invalid_value", name, "%s must be one of %v, not %q", name, allowed, v)
}

func (d Deps) partners(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc, err := d.readLocality(r.Context(), principal(r), q.Get("locality"))
	if err != nil {
		return err
	}
	kind, err := oneOf(q, "kind", partner.KindIssuer, partner.KindVenue)
	if err != nil {
		return err
	}
	category, err := oneOf(q, "category", slices.Concat(partner.Categories[partner.KindIssuer], partner.Categories[partner.KindVenue])...)
	if err != nil {
		return err
	}
	status, err := oneOf(q, "status", contacts.StateJoined, contacts.StateApproved, contacts.StateLeft)
	if err != nil {
		return err
	}
	cq, err := d.Views.Contacts(r.Context())
	if err != nil {
		return err
	}
	ps, err := cq.Partners(r.Context(), loc)
	if err != nil {
		return err
	}
	ps = slices.DeleteFunc(ps, func(p contacts.Partner) bool {
		return (kind != "" && p.Kind != kind) || (category != "" && p.Category != category) || (status != "" && p.State != status)
	})
	return WriteJSON(w, http.StatusOK, nonNil(ps))
}

// guidelineVersions returns every version in effective order, none when
// no version was ever adopted.
func (d Deps) guidelineVersions(ctx context.Context) ([]GuidelineVersion, error) {
	g, err := d.Commands.Guideline(ctx)
	if errors.Is(err, domain.ErrNotFound) {
		return []GuidelineVersion{}, nil
	}
	if err != nil {
		return nil, err
	}
	vs := g.Versions()
	out := make([]GuidelineVersion, len(vs))
	for i, v := range vs {
		out[i] = GuidelineVersion{Version: v.Version, AdoptedOn: v.AdoptedOn, EffectiveFrom: v.EffectiveFrom, Rules: v.Rules}
		out[i].Rules.Categories, out[i].Rules.AgeBands = nonNil(v.Rules.Categories), nonNil(v.Rules.AgeBands)
		if i+1 < len(vs) {
			out[i].EffectiveUntil = vs[i+1].EffectiveFrom.AddDays(-1)
		}
	}
	return out, nil
}

func (d Deps) guidelines(w http.ResponseWriter, r *http.Request) error {
	vs, err := d.guidelineVersions(r.Context())
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, vs)
}

func (d Deps) guidelineVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := guideline.ParseVersion(chi.URLParam(r, "version"))
	if err != nil {
		return err
	}
	vs, err := d.guidelineVersions(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(vs, func(g GuidelineVersion) bool { return g.Version == v })
	if i < 0 {
		return fmt.Errorf("guideline version %q: %w", v, domain.ErrNotFound)
	}
	return WriteJSON(w, http.StatusOK, vs[i])
}

func (d Deps) crossUse(w http.ResponseWriter, r *http.Request) error {
	ctx, q, p := r.Context(), r.URL.Query(), principal(r)
	loc, err := d.readLocality(ctx, p, q.Get("locality"))
	if err != nil {
		return err
	}
	from, err := queryInt(q, "from", 1900, 9999)
	if err != nil {
		return err
	}
	to, err := queryInt(q, "to", 1900, 9999)
	if err != nil {
		return err
	}
	if from != 0 && to != 0 && to < from {
		return domain.Invalidf("invalid_range", "to", "%d is before from %d", to, from)
	}
	sq, err := d.Views.Stats(ctx)
	if err != nil {
		return err
	}
	suppress := disclosure.Applies(p.Role)
	if suppress {
		// Only years that have ended: a closed year does not move from day
		// to day (the one disclosure policy).
		last := domain.DateOf(d.today()).Year() - 1
		if to == 0 || int(to) > last {
			to = int64(last)
		}
		if from != 0 {
			if err := disclosure.YearEnded(int(from), domain.DateOf(d.today())); err != nil {
				return err
			}
		}
	}
	rows, err := sq.CrossUse(ctx, stats.CrossUseFilter{Locality: loc, From: int(from), To: int(to), Suppress: suppress})
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, CrossUse{Locality: loc, From: int(from), To: int(to), Suppressed: suppress, Rows: nonNil(rows)})
}

func (d Deps) nationalYears(w http.ResponseWriter, r *http.Request) error {
	sq, err := d.Views.Stats(r.Context())
	if err != nil {
		return err
	}
	first, last, ok, err := sq.Years(r.Context())
	if err != nil {
		return err
	}
	out := []stats.NationalTable{}
	for y := first; ok && y <= last; y++ {
		t, err := sq.National(r.Context(), y)
		if err != nil {
			return err
		}
		out = append(out, t)
	}
	return WriteJSON(w, http.StatusOK, out)
}
