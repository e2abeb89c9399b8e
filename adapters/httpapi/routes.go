package httpapi

import (
	"net/http"
	"slices"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/compliance"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// Routes returns every endpoint of DESIGN.md's HTTP API over d, for
// Config.Routes. Who may call what (the role gate, then scope checks in
// the handlers):
//
//   - national: every route but the card routes (it registers localities,
//     revises the guideline, approves issuers, manages any locality's
//     network and reads everything, unsuppressed);
//   - coordinator: its own locality's network (coordinators, feedback
//     meetings, partners, contacts, commitments, departures, agreements)
//     and reads limited to its locality (the default; another is 403);
//   - issuer: issues cards as itself and renews, replaces, corrects and
//     cancels cards of its own locality; reads only the statistics of its
//     locality (suppressed) and the national annual table;
//   - venue: records uses as itself and cancels uses it recorded; reads
//     like an issuer;
//   - auditor: every GET, the history and the audit verification
//     included; statistics suppressed; no writes.
//
// Besides DESIGN.md's routes it offers POST /v1/localities/{id}/
// pilot-conclusion and /v1/localities/{id}/departure (national), so that
// every command of the domain has a route.
func Routes(d Deps) []Route {
	return slices.Concat(commandRoutes(d), []Route{uploadRoute(d)}, queryRoutes(d), deskRoutes(d))
}

func queryRoutes(d Deps) []Route {
	readers := []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleAuditor}
	everyone := []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleIssuer, domain.RoleVenue, domain.RoleAuditor}
	overseers := []domain.Role{domain.RoleNational, domain.RoleAuditor}
	loc := QueryParam{Name: "locality", Description: "Limit to one locality; coordinators, issuers and venues default to (and may only ask for) their own."}
	return []Route{
		{Method: http.MethodGet, Pattern: "/v1/statistics", Roles: everyone,
			Summary:  "Statistics grouped by locality, issuer, venue, month, ageGroup, postalArea or category; for every role but national, one ended calendar year with small cells suppressed (package disclosure).",
			Response: Statistics{}, Handler: d.statistics, Query: []QueryParam{loc,
				{Name: "from", Format: "date", Description: "First business date (inclusive)."},
				{Name: "to", Format: "date", Description: "Last business date (inclusive)."},
				{Name: "groupBy", Description: "locality (default), issuer, venue, month, ageGroup, postalArea or category."},
				{Name: "rules", Description: "A guideline version: the figures restated under its rules (built with `kaiku rebuild statistics --rules V`)."},
				{Name: "asOf", Format: "date-time", Description: "Record time: the figures as the log stood then."}}},
		{Method: http.MethodGet, Pattern: "/v1/statistics/national/{year}", Roles: everyone,
			Summary: "The published national annual table; for every role but national, of an ended year with small figures hidden.", Response: stats.PublishedTable{}, Handler: d.national},
		{Method: http.MethodGet, Pattern: "/v1/contacts", Roles: readers,
			Summary: "Current contact persons of the partners.", Response: []contacts.Contact{}, Handler: d.contactsNow, Query: []QueryParam{loc}},
		{Method: http.MethodGet, Pattern: "/v1/partners/{id}/contacts/history", Roles: readers,
			Summary: "Every contact person a partner had, in business-date order.", Response: []contacts.Contact{}, Handler: d.contactHistory},
		{Method: http.MethodGet, Pattern: "/v1/commitments", Roles: readers,
			Summary: "Partners' guideline-commitment status on a date.", Response: []commitments.Commitment{}, Handler: d.commitmentsList,
			Query: []QueryParam{loc, {Name: "status", Description: "committed, outdated or missing."}, {Name: "on", Format: "date", Description: "Business date; today by default."}}},
		{Method: http.MethodGet, Pattern: "/v1/compliance", Roles: readers,
			Summary: "Missing contacts and commitments, overdue feedback meetings, expiring agreements.", Response: compliance.Report{}, Handler: d.complianceReport,
			Query: []QueryParam{loc, {Name: "on", Format: "date", Description: "Business date; today by default."}}},
		{Method: http.MethodGet, Pattern: "/v1/agreements", Roles: readers,
			Summary: "Agreements, or those in force on a date.", Response: []agreements.Agreement{}, Handler: d.agreementsList,
			Query: []QueryParam{loc, {Name: "inForceOn", Format: "date", Description: "Only agreements in force on this business date."}}},
		{Method: http.MethodGet, Pattern: "/v1/agreements/{id}/timeline", Roles: readers,
			Summary: "An agreement's timeline: signed, amended, terminated or expired.", Response: agreements.Timeline{}, Handler: d.timeline,
			Query: []QueryParam{{Name: "asOf", Format: "date", Description: "Business date; today by default."}}},
		{Method: http.MethodGet, Pattern: "/v1/history", Roles: readers,
			Summary: "The network history by position, paged with after and a next link.", Response: HistoryPage{}, Handler: d.historyPage,
			Query: []QueryParam{loc, {Name: "stream"}, {Name: "type", Description: "A full type (partner.contact_changed) or a category (card)."},
				{Name: "principal"}, {Name: "from", Format: "date-time", Description: "Record time, inclusive."},
				{Name: "to", Format: "date-time", Description: "Record time, exclusive."},
				{Name: "after", Format: "integer", Description: "Only events after this position (the next link sets it)."},
				{Name: "limit", Format: "integer", Description: "Page size, at most 1000."}}},
		{Method: http.MethodGet, Pattern: "/v1/network", Roles: readers,
			Summary: "The state of the network on a past business date.", Response: network.Network{}, Handler: d.networkAsOf,
			Query: []QueryParam{loc, {Name: "asOf", Format: "date", Description: "Business date; today by default."}}},
		{Method: http.MethodGet, Pattern: "/v1/audit/verify", Roles: overseers,
			Summary:  "Verify the log's hash chain and seals; ok is false and firstBad names the first bad position when it was tampered with.",
			Response: VerifyReport{}, Handler: d.verify},
		{Method: http.MethodGet, Pattern: "/v1/projections", Roles: overseers,
			Summary: "The projections' positions, lag, failures and rebuilds.", Response: []ProjectionStatus{}, Handler: d.projectionStatus},
	}
}
