package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/disclosure"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/stats"
)

// Statistics is GET /v1/statistics: a breakdown and what it was asked.
// Suppressed tells that package disclosure's small-cell policy applies
// (every role but national): one ended calendar year, no asOf or rules,
// small cells and the cells that would give them away hidden.
type Statistics struct {
	Locality   locality.ID `json:"locality,omitempty"`
	From       domain.Date `json:"from"`
	To         domain.Date `json:"to"`
	GroupBy    string      `json:"groupBy"`
	Rules      string      `json:"rules,omitempty"`
	AsOf       string      `json:"asOf,omitempty"`
	Suppressed bool        `json:"suppressed"`
	Rows       []stats.Row `json:"rows"`
}

// HistoryPage is GET /v1/history: one page of the network history by
// position. Next is the link to the following page ("" on the last);
// NextAfter its after parameter.
type HistoryPage struct {
	Events    []history.Event `json:"events"`
	Next      string          `json:"next,omitempty"`
	NextAfter domain.Position `json:"nextAfter,omitempty"`
}

// VerifyReport is GET /v1/audit/verify: what verification covered and
// the first problem found. OK is false exactly when FirstBad is set; it
// speaks only of the chained events: Unchained counts those not chained
// yet, which were not judged (Complete is false while there are any).
type VerifyReport struct {
	OK             bool         `json:"ok"`
	Complete       bool         `json:"complete"`
	Events         int64        `json:"events"`
	Chained        int64        `json:"chained"`
	Unchained      int64        `json:"unchained"`
	Sealed         int64        `json:"sealed"`
	Seals          int64        `json:"seals"`
	KeyedSeals     int64        `json:"keyedSeals"`
	UncheckedSeals int64        `json:"uncheckedSeals"`
	HeadPosition   int64        `json:"headPosition"`
	HeadHash       string       `json:"headHash,omitempty"`
	LastSeal       *SealInfo    `json:"lastSeal,omitempty"`
	FirstBad       *BadPosition `json:"firstBad,omitempty"`
}

// SealInfo is the last verified seal; publishing its hash outside the
// database lets a later verification prove no seal was rewritten.
type SealInfo struct {
	Seq   int64  `json:"seq"`
	From  int64  `json:"from"`
	To    int64  `json:"to"`
	Count int64  `json:"count"`
	Keyed bool   `json:"keyed"`
	Hash  string `json:"hash"`
}

// BadPosition is the first problem verification found.
type BadPosition struct {
	Position int64  `json:"position"`
	Kind     string `json:"kind"`
	Seal     int64  `json:"seal,omitempty"`
	Detail   string `json:"detail"`
}

// ProjectionStatus is one projection's row of GET /v1/projections.
type ProjectionStatus struct {
	Name       string           `json:"name"`
	Handler    string           `json:"handler"`
	State      string           `json:"state"`
	Position   int64            `json:"position"`
	UpdatedAt  string           `json:"updatedAt,omitempty"`
	Head       int64            `json:"head"`
	LagEvents  int64            `json:"lagEvents"`
	LagSeconds float64          `json:"lagSeconds"`
	Skipped    int64            `json:"skipped"`
	Failure    *ProjectionFault `json:"failure,omitempty"`
	Rebuild    *RebuildProgress `json:"rebuild,omitempty"`
	// FenceHeldBy is set while the log's read fence has held this
	// projection back for longer than the configured time.
	FenceHeldBy *FenceHolder `json:"fenceHeldBy,omitempty"`
}

// ProjectionFault is the poison event a projection stopped on.
type ProjectionFault struct {
	Position int64  `json:"position"`
	EventID  string `json:"eventId"`
	Type     string `json:"type"`
	Error    string `json:"error"`
	At       string `json:"at"`
}

// RebuildProgress is a running rebuild's progress.
type RebuildProgress struct {
	Target    int64  `json:"target"`
	Position  int64  `json:"position"`
	Events    int64  `json:"events"`
	StartedAt string `json:"startedAt"`
}

// errNotWired is a Deps field left nil.
var errNotWired = errors.New("httpapi: this route's dependency is not wired")

// readLocality resolves the locality a read is limited to: national and
// auditors read what they ask ("" is every locality); a coordinator only
// its own (the default); an issuer or a venue only its own partner's
// locality (the default). Another locality is 403.
func (d Deps) readLocality(ctx context.Context, p domain.Principal, asked string) (locality.ID, error) {
	var own locality.ID
	switch p.Role {
	case domain.RoleNational, domain.RoleAuditor:
		return locality.ID(asked), nil
	case domain.RoleCoordinator:
		own = locality.ID(p.Locality)
	case domain.RoleIssuer, domain.RoleVenue:
		pt, err := d.Commands.LoadPartner(ctx, partner.ID(p.Partner))
		if err != nil {
			return "", &domain.Forbidden{Message: fmt.Sprintf("%s %s is not a partner of the network", p.Role, p.Partner)}
		}
		own = pt.Facts().Locality
	default:
		return "", &domain.Forbidden{Message: fmt.Sprintf("role %q may not read", p.Role)}
	}
	if own == "" {
		return "", &domain.Forbidden{Message: fmt.Sprintf("%s has no locality", p)}
	}
	if asked != "" && locality.ID(asked) != own {
		return "", &domain.Forbidden{Message: fmt.Sprintf("%s may read only locality %s", p.Role, own)}
	}
	return own, nil
}

// queryDate parses the YYYY-MM-DD query parameter name; absent is zero.
// dateOrToday reads the date query parameter name, today when absent.
func (d Deps) dateOrToday(q url.Values, name string) (domain.Date, error) {
	on, err := queryDate(q, name)
	if err == nil && on.IsZero() {
		on = domain.DateOf(d.today())
	}
	return on, err
}

func queryDate(q url.Values, name string) (domain.Date, error) {
	s := q.Get(name)
	if s == "" {
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return domain.Date{}, domain.Invalidf("invalid_date", name, "%s must be a date YYYY-MM-DD, not %q", name, s)
	}
	return d, nil
}

// queryTime parses the record-time query parameter name: RFC 3339, or a
// date meaning its 00:00 UTC; absent is zero.
func queryTime(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := domain.ParseDate(s); err == nil {
		return d.Time(), nil
	}
	return time.Time{}, domain.Invalidf("invalid_time", name, "%s must be an RFC 3339 time (2024-05-02T12:00:00Z) or a date, not %q", name, s)
}

func queryInt(q url.Values, name string, lo, hi int64) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, domain.Invalidf("invalid_value", name, "%s must be an integer from %d to %d, not %q", name, lo, hi, s)
	}
	return n, nil
}

// nonNil makes a nil slice an empty one, so lists are never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func principal(r *http.Request) domain.Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

func (d Deps) statistics(w http.ResponseWriter, r *http.Request) error {
	ctx, q, p := r.Context(), r.URL.Query(), principal(r)
	loc, err := d.readLocality(ctx, p, q.Get("locality"))
	if err != nil {
		return err
	}
	from, err := queryDate(q, "from")
	if err != nil {
		return err
	}
	to, err := queryDate(q, "to")
	if err != nil {
		return err
	}
	g := stats.ByLocality
	if s := q.Get("groupBy"); s != "" {
		if g, err = stats.ParseGroupBy(s); err != nil {
			return err
		}
	}
	asOf, err := queryTime(q, "asOf")
	if err != nil {
		return err
	}
	rules := q.Get("rules")
	if rules != "" && !asOf.IsZero() {
		return domain.Invalidf("invalid_combination", "asOf", "rules and asOf cannot be combined: a restated view is built from the whole log")
	}
	if disclosure.Applies(p.Role) {
		if err := disclosure.CheckQuery(disclosure.Query{AsOf: !asOf.IsZero(), Rules: rules != "",
			WholeNetwork: loc == "", ByLocality: g == stats.ByLocality}); err != nil {
			return err
		}
		if _, err := disclosure.Period(from, to, domain.DateOf(d.today())); err != nil {
			return err
		}
	}
	var sq *stats.Queries
	switch {
	case rules != "":
		var ok bool
		if sq, ok, err = d.Views.StatsRestated(ctx, guideline.Version(rules)); err != nil {
			return err
		}
		if !ok {
			return domain.Violationf("restatement_not_built",
				"statistics restated under the rules of guideline %q have not been built; build them with `kaiku rebuild statistics --rules %s`", rules, rules)
		}
	case !asOf.IsZero():
		var drop func(context.Context) error
		if sq, drop, err = d.Views.StatsAsOf(ctx, asOf); err != nil {
			return err
		}
		defer func() { _ = drop(context.WithoutCancel(ctx)) }()
	default:
		if sq, err = d.Views.Stats(ctx); err != nil {
			return err
		}
	}
	rows, suppressed, err := sq.BreakdownFor(ctx, p.Role, stats.Filter{Locality: loc, From: from, To: to, GroupBy: g})
	if err != nil {
		return err
	}
	out := Statistics{Locality: loc, From: from, To: to, GroupBy: string(g), Rules: rules, Suppressed: suppressed, Rows: nonNil(rows)}
	if !asOf.IsZero() {
		out.AsOf = asOf.UTC().Format(time.RFC3339Nano)
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (d Deps) national(w http.ResponseWriter, r *http.Request) error {
	year, err := strconv.Atoi(chi.URLParam(r, "year"))
	if err != nil || year < 1900 || year > 9999 {
		return domain.Invalidf("invalid_year", "year", "year must be a four-digit year, not %q", chi.URLParam(r, "year"))
	}
	sq, err := d.Views.Stats(r.Context())
	if err != nil {
		return err
	}
	t, err := sq.NationalFor(r.Context(), principal(r).Role, year, domain.DateOf(d.today()))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, t)
}

func (d Deps) contactsNow(w http.ResponseWriter, r *http.Request) error {
	loc, err := d.readLocality(r.Context(), principal(r), r.URL.Query().Get("locality"))
	if err != nil {
		return err
	}
	cq, err := d.Views.Contacts(r.Context())
	if err != nil {
		return err
	}
	cs, err := cq.Current(r.Context(), loc)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, nonNil(cs))
}

func (d Deps) contactHistory(w http.ResponseWriter, r *http.Request) error {
	cq, err := d.Views.Contacts(r.Context())
	if err != nil {
		return err
	}
	cs, err := cq.History(r.Context(), partner.ID(pathID(r)))
	if err != nil {
		return err
	}
	if err := scopeLocality(principal(r), cs[0].Locality); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, cs)
}

func (d Deps) commitmentsList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc, err := d.readLocality(r.Context(), principal(r), q.Get("locality"))
	if err != nil {
		return err
	}
	status, err := commitments.ParseStatus(q.Get("status"))
	if err != nil {
		return err
	}
	on, err := d.dateOrToday(q, "on")
	if err != nil {
		return err
	}
	cq, err := d.Views.Commitments(r.Context())
	if err != nil {
		return err
	}
	list, err := cq.List(r.Context(), loc, status, on)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, nonNil(list))
}

func (d Deps) complianceReport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc, err := d.readLocality(r.Context(), principal(r), q.Get("locality"))
	if err != nil {
		return err
	}
	on, err := d.dateOrToday(q, "on")
	if err != nil {
		return err
	}
	cq, err := d.Views.Compliance(r.Context())
	if err != nil {
		return err
	}
	rep, err := cq.Report(r.Context(), loc, on)
	if err != nil {
		return err
	}
	rep.MissingContact, rep.MissingCommitment = nonNil(rep.MissingContact), nonNil(rep.MissingCommitment)
	rep.NoFeedbackMeeting, rep.ExpiringAgreements = nonNil(rep.NoFeedbackMeeting), nonNil(rep.ExpiringAgreements)
	return WriteJSON(w, http.StatusOK, rep)
}

func (d Deps) agreementsList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc, err := d.readLocality(r.Context(), principal(r), q.Get("locality"))
	if err != nil {
		return err
	}
	on, err := queryDate(q, "inForceOn")
	if err != nil {
		return err
	}
	aq, err := d.Views.Agreements(r.Context())
	if err != nil {
		return err
	}
	var list []agreements.Agreement
	if on.IsZero() {
		list, err = aq.List(r.Context(), loc)
	} else {
		list, err = aq.InForce(r.Context(), loc, on)
	}
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, nonNil(list))
}

func (d Deps) timeline(w http.ResponseWriter, r *http.Request) error {
	asOf, err := queryDate(r.URL.Query(), "asOf")
	if err != nil {
		return err
	}
	if asOf.IsZero() {
		asOf = domain.DateOf(d.today())
	}
	aq, err := d.Views.Agreements(r.Context())
	if err != nil {
		return err
	}
	t, err := aq.Timeline(r.Context(), agreement.ID(pathID(r)), asOf)
	if err != nil {
		return err
	}
	if err := scopeLocality(principal(r), t.Agreement.Locality); err != nil {
		return err
	}
	t.Entries = nonNil(t.Entries)
	return WriteJSON(w, http.StatusOK, t)
}

func (d Deps) historyPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc, err := d.readLocality(r.Context(), principal(r), q.Get("locality"))
	if err != nil {
		return err
	}
	f := history.Filter{Locality: loc, Stream: domain.StreamID(q.Get("stream")), Type: q.Get("type"), Principal: q.Get("principal")}
	if f.From, err = queryTime(q, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(q, "to"); err != nil {
		return err
	}
	after, err := queryInt(q, "after", 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(q, "limit", 1, history.MaxLimit)
	if err != nil {
		return err
	}
	f.After, f.Limit = domain.Position(after), int(limit)
	hq, err := d.Views.History(r.Context())
	if err != nil {
		return err
	}
	page, err := hq.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := HistoryPage{Events: nonNil(page.Events)}
	if page.Next > 0 {
		next := r.URL.Query()
		next.Set("after", strconv.FormatInt(int64(page.Next), 10))
		out.Next, out.NextAfter = r.URL.Path+"?"+next.Encode(), page.Next
		w.Header().Set("Link", "<"+out.Next+`>; rel="next"`)
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (d Deps) networkAsOf(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	loc, err := d.readLocality(r.Context(), principal(r), q.Get("locality"))
	if err != nil {
		return err
	}
	on, err := d.dateOrToday(q, "asOf")
	if err != nil {
		return err
	}
	nq, err := d.Views.Network(r.Context())
	if err != nil {
		return err
	}
	n, err := nq.AsOf(r.Context(), loc, on)
	if err != nil {
		return err
	}
	n.Localities, n.Partners, n.Agreements = nonNil(n.Localities), nonNil(n.Partners), nonNil(n.Agreements)
	for i := range n.Localities {
		n.Localities[i].Municipalities = nonNil(n.Localities[i].Municipalities)
	}
	return WriteJSON(w, http.StatusOK, n)
}

func (d Deps) verify(w http.ResponseWriter, r *http.Request) error {
	if d.Verify == nil {
		return errNotWired
	}
	rep, err := d.Verify(r.Context())
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, verifyReport(rep))
}

func verifyReport(rep audit.Report) VerifyReport {
	out := VerifyReport{OK: rep.FirstBad == nil, Complete: rep.Verdict() == audit.Verified, Events: rep.Events, Chained: rep.Chained,
		Unchained: rep.Unchained(), Sealed: rep.Sealed, Seals: rep.Seals,
		KeyedSeals: rep.KeyedSeals, UncheckedSeals: rep.UncheckedSeals,
		HeadPosition: int64(rep.Head.Position), HeadHash: hex.EncodeToString(rep.Head.Hash)}
	if s := rep.LastSeal; s != nil {
		out.LastSeal = &SealInfo{Seq: s.Seq, From: int64(s.From), To: int64(s.To), Count: s.Count, Keyed: s.Keyed, Hash: hex.EncodeToString(s.Hash)}
	}
	if b := rep.FirstBad; b != nil {
		out.FirstBad = &BadPosition{Position: int64(b.Position), Kind: string(b.Kind), Seal: b.Seal, Detail: b.Detail}
	}
	return out
}

func (d Deps) projectionStatus(w http.ResponseWriter, r *http.Request) error {
	if d.Projections == nil {
		return errNotWired
	}
	sts, err := d.Projections.Status(r.Context())
	if err != nil {
		return err
	}
	var heldBy *FenceHolder
	var newest domain.Position
	if d.Fence != nil {
		if heldBy, newest, err = d.Fence.heldBy(r.Context()); err != nil {
			return err
		}
	}
	out := make([]ProjectionStatus, len(sts))
	for i, s := range sts {
		out[i] = projectionStatusOf(s)
		if heldBy != nil && s.Position < newest {
			out[i].FenceHeldBy = heldBy
		}
	}
	return WriteJSON(w, http.StatusOK, out)
}

func projectionStatusOf(s projections.Status) ProjectionStatus {
	out := ProjectionStatus{Name: s.Name, Handler: s.Handler, State: string(s.State), Position: int64(s.Position),
		Head: int64(s.Head), LagEvents: s.LagEvents, LagSeconds: s.LagSeconds, Skipped: s.Skipped}
	if !s.UpdatedAt.IsZero() {
		out.UpdatedAt = s.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	if f := s.Failure; f != nil {
		out.Failure = &ProjectionFault{Position: int64(f.Position), EventID: string(f.EventID), Type: f.Type, Error: f.Error,
			At: f.At.UTC().Format(time.RFC3339Nano)}
	}
	if p := s.Rebuild; p != nil {
		out.Rebuild = &RebuildProgress{Target: int64(p.Target), Position: int64(p.Position), Events: p.Events,
			StartedAt: p.StartedAt.UTC().Format(time.RFC3339Nano)}
	}
	return out
}
