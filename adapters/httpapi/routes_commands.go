package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// CommandResult is every command's success answer: the appended events'
// ids, and the stream, version and global position of the last one. ID
// names what a creation created (the new card of a replacement); UseID is
// the id of a recorded use. A command that changed nothing (a retry the
// domain recognised) answers with no events and position 0. Subjects are
// the data subjects whose personal data the events recorded (a new contact
// person: "contact:<partner>:<n>"), for subject access and erasure.
type CommandResult struct {
	EventIDs []domain.EventID `json:"eventIds"`
	Subjects []string         `json:"subjects,omitempty"`
	Position domain.Position  `json:"position"`
	Stream   domain.StreamID  `json:"stream"`
	Version  domain.Version   `json:"version"`
	ID       string           `json:"id,omitempty"`
	UseID    string           `json:"useId,omitempty"`
}

func resultOf(res command.Result) CommandResult {
	out := CommandResult{EventIDs: []domain.EventID{}}
	for _, r := range res.Records {
		out.EventIDs = append(out.EventIDs, r.ID)
		if r.Subject != "" {
			out.Subjects = append(out.Subjects, r.Subject)
		}
	}
	if n := len(res.Records); n > 0 {
		last := res.Records[n-1]
		out.Position, out.Stream, out.Version = last.Position, last.Stream, last.Version
	}
	out.UseID = res.UseID
	return out
}

// cmdSpec describes one command route's handler: how it fills the
// command from the request and checks scope, what it runs, and what it
// names as created.
type cmdSpec[C any] struct {
	// optionalBody lets an empty body stand for {} (every field optional).
	optionalBody bool
	// prepare sets the path ids and checks the principal's scope (it may
	// load aggregates to learn the owner).
	prepare func(ctx context.Context, r *http.Request, p domain.Principal, c *C) error
	run     func(ctx context.Context, md domain.Metadata, c C) (command.Result, error)
	// id names what was created, or nil.
	id func(c C, res command.Result) string
}

// commandHandler decodes the body strictly into a C, prepares it, runs it
// and answers status with a CommandResult.
func commandHandler[C any](status int, s cmdSpec[C]) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var c C
		if err := decodeCommand(r, &c, s.optionalBody); err != nil {
			return err
		}
		p, _ := PrincipalFrom(r.Context())
		if s.prepare != nil {
			if err := s.prepare(r.Context(), r, p, &c); err != nil {
				return err
			}
		}
		res, err := s.run(r.Context(), MetadataFrom(r), c)
		if err != nil {
			return err
		}
		out := resultOf(res)
		if s.id != nil {
			out.ID = s.id(c, res)
		}
		return WriteJSON(w, status, out)
	}
}

// decodeCommand decodes r's body into dst; with optional, an empty body
// leaves dst zero.
func decodeCommand(r *http.Request, dst any, optional bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeBytes(body, dst)
}

// scopeLocality checks that p may act on locality loc.
func scopeLocality(p domain.Principal, loc locality.ID) error {
	return Authorize(p, Scope{Locality: string(loc)})
}

// partnerLocality checks that p may act on partner id's locality. Only
// coordinators are scoped by locality; national needs no lookup. An
// unknown partner is 404.
func (d Deps) partnerScope(ctx context.Context, p domain.Principal, id partner.ID) error {
	if p.Role != domain.RoleCoordinator {
		return Authorize(p, Scope{Locality: p.Locality})
	}
	pt, err := d.Commands.LoadPartner(ctx, id)
	if err != nil {
		return err
	}
	return scopeLocality(p, pt.Facts().Locality)
}

// agreementScope checks that p may act on agreement id's locality.
func (d Deps) agreementScope(ctx context.Context, p domain.Principal, id agreement.ID) error {
	if p.Role != domain.RoleCoordinator {
		return Authorize(p, Scope{Locality: p.Locality})
	}
	a, err := d.Commands.LoadAgreement(ctx, id)
	if err != nil {
		return err
	}
	return scopeLocality(p, a.Signed().Locality)
}

// cardScope checks that an issuer office acts only on cards of its own
// locality (renewal is further limited to the issuing unit by the
// domain). It returns the loaded card. An unknown card is 404.
func (d Deps) cardScope(ctx context.Context, p domain.Principal, id card.ID) (*card.Card, error) {
	if _, err := card.ParseID(string(id)); err != nil {
		return nil, err
	}
	c, err := d.Commands.LoadCard(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Role != domain.RoleIssuer {
		return c, Authorize(p, Scope{})
	}
	office, err := d.Commands.LoadPartner(ctx, partner.ID(p.Partner))
	if err != nil {
		return nil, &domain.Forbidden{Message: fmt.Sprintf("issuer %s is not a partner of the network", p.Partner)}
	}
	if office.Facts().Locality != c.Locality() {
		return nil, &domain.Forbidden{Message: fmt.Sprintf("issuer %s may act only on cards of locality %s", p.Partner, office.Facts().Locality)}
	}
	return c, nil
}

func pathID(r *http.Request) string { return chi.URLParam(r, "id") }

// commandRoutes returns the command routes of the API.
func commandRoutes(d Deps) []Route {
	h := d.Commands
	national := []domain.Role{domain.RoleNational}
	network := []domain.Role{domain.RoleNational, domain.RoleCoordinator}
	issuers := []domain.Role{domain.RoleIssuer}
	venues := []domain.Role{domain.RoleVenue}
	res := CommandResult{}
	onLocality := func(ctx context.Context, r *http.Request, p domain.Principal, id *locality.ID) error {
		*id = locality.ID(pathID(r))
		return scopeLocality(p, *id)
	}
	onPartner := func(ctx context.Context, r *http.Request, p domain.Principal, id *partner.ID) error {
		*id = partner.ID(pathID(r))
		return d.partnerScope(ctx, p, *id)
	}
	onAgreement := func(ctx context.Context, r *http.Request, p domain.Principal, id *agreement.ID) error {
		*id = agreement.ID(pathID(r))
		return d.agreementScope(ctx, p, *id)
	}
	onCard := func(ctx context.Context, r *http.Request, p domain.Principal, id *card.ID) error {
		*id = card.ID(pathID(r))
		_, err := d.cardScope(ctx, p, *id)
		return err
	}
	return []Route{
		// Localities.
		{Method: http.MethodPost, Pattern: "/v1/localities", Roles: national,
			Summary: "Register a locality (Kaikukeskus).", Request: command.RegisterLocality{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.RegisterLocality]{
				run: h.RegisterLocality,
				id:  func(c command.RegisterLocality, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/pilot-conclusion", Roles: national, Status: http.StatusOK,
			Summary: "Conclude a locality's pilot: it is established from then on.", Request: command.ConcludePilot{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.ConcludePilot]{optionalBody: true,
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ConcludePilot) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.ConcludePilot})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/departure", Roles: national, Status: http.StatusOK,
			Summary: "Record that a locality left the network.", Request: command.LeaveLocality{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.LeaveLocality]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.LeaveLocality) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.LeaveLocality})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/coordinators", Roles: network, Status: http.StatusOK,
			Summary: "Assign a locality's locally responsible person (culture or social side).", Request: command.AssignCoordinator{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.AssignCoordinator]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.AssignCoordinator) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.AssignCoordinator})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/feedback-meetings", Roles: network,
			Summary: "Record a held feedback meeting.", Request: command.HoldFeedbackMeeting{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.HoldFeedbackMeeting]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.HoldFeedbackMeeting) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.HoldFeedbackMeeting})},

		// Partners.
		{Method: http.MethodPost, Pattern: "/v1/partners", Roles: network,
			Summary: "A partner (issuer office or venue) joins a locality.", Request: command.JoinPartner{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.JoinPartner]{
				prepare: func(_ context.Context, _ *http.Request, p domain.Principal, c *command.JoinPartner) error {
					return scopeLocality(p, c.Locality)
				},
				run: h.JoinPartner,
				id:  func(c command.JoinPartner, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/partners/{id}/approval", Roles: national, Status: http.StatusOK,
			Summary: "Approve a new issuer (Kaikukeskus).", Request: command.ApproveIssuer{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.ApproveIssuer]{optionalBody: true,
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ApproveIssuer) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.ApproveIssuer})},
		{Method: http.MethodPut, Pattern: "/v1/partners/{id}/contact", Roles: network,
			Summary: "Replace a partner's designated contact person.", Request: command.ChangeContact{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.ChangeContact]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ChangeContact) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.ChangeContact})},
		{Method: http.MethodPost, Pattern: "/v1/partners/{id}/commitments", Roles: network, Status: http.StatusOK,
			Summary: "Record a partner's commitment to a guideline version.", Request: command.CommitToGuideline{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.CommitToGuideline]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CommitToGuideline) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.CommitToGuideline})},
		{Method: http.MethodPost, Pattern: "/v1/partners/{id}/departure", Roles: network, Status: http.StatusOK,
			Summary: "Record that a partner left the network.", Request: command.LeavePartner{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.LeavePartner]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.LeavePartner) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.LeavePartner})},

		// Agreements.
		{Method: http.MethodPost, Pattern: "/v1/agreements", Roles: network,
			Summary: "Sign an agreement between a locality and a partner.", Request: command.SignAgreement{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.SignAgreement]{
				prepare: func(_ context.Context, _ *http.Request, p domain.Principal, c *command.SignAgreement) error {
					return scopeLocality(p, c.Locality)
				},
				run: h.SignAgreement,
				id:  func(c command.SignAgreement, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/agreements/{id}/amendments", Roles: network,
			Summary: "Amend an agreement's validity.", Request: command.AmendAgreement{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.AmendAgreement]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.AmendAgreement) error {
					return onAgreement(ctx, r, p, &c.Agreement)
				},
				run: h.AmendAgreement})},
		{Method: http.MethodPost, Pattern: "/v1/agreements/{id}/termination", Roles: network, Status: http.StatusOK,
			Summary: "Terminate an agreement.", Request: command.TerminateAgreement{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.TerminateAgreement]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.TerminateAgreement) error {
					return onAgreement(ctx, r, p, &c.Agreement)
				},
				run: h.TerminateAgreement})},

		// The national guideline.
		{Method: http.MethodPost, Pattern: "/v1/guidelines", Roles: national,
			Summary: "Adopt a new version of the national guideline (Kaikukeskus).", Request: command.ReviseGuideline{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.ReviseGuideline]{
				run: h.ReviseGuideline,
				id:  func(c command.ReviseGuideline, _ command.Result) string { return string(c.Version) },
			})},

		// Cards.
		{Method: http.MethodPost, Pattern: "/v1/cards", Roles: issuers, CardPayload: true,
			Summary: "Issue a card (an approved, committed issuer office; issuer defaults to the caller).", Request: command.IssueCard{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.IssueCard]{
				prepare: func(_ context.Context, _ *http.Request, p domain.Principal, c *command.IssueCard) error {
					if c.Issuer == "" {
						c.Issuer = partner.ID(p.Partner)
					}
					return Authorize(p, Scope{Partner: string(c.Issuer)})
				},
				run: h.IssueCard,
				id:  func(c command.IssueCard, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/renewal", Roles: issuers, CardPayload: true, Status: http.StatusOK,
			Summary: "Renew a card at its issuing unit.", Request: command.RenewCard{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.RenewCard]{optionalBody: true,
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.RenewCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.RenewCard})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/replacement", Roles: issuers, CardPayload: true,
			Summary: "Replace a lost card by a new card number.", Request: command.ReplaceCard{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.ReplaceCard]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ReplaceCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.ReplaceCard,
				id:  func(c command.ReplaceCard, _ command.Result) string { return string(c.NewCardID) },
			})},
		{Method: http.MethodPatch, Pattern: "/v1/cards/{id}", Roles: issuers, CardPayload: true,
			Summary: "Correct a card's registered details; the fields given replace the registered ones.", Request: command.CorrectCard{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.CorrectCard]{
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CorrectCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.CorrectCard})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/cancellation", Roles: issuers, CardPayload: true, Status: http.StatusOK,
			Summary: "Cancel a card.", Request: command.CancelCard{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.CancelCard]{optionalBody: true,
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CancelCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.CancelCard})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/uses", Roles: venues, CardPayload: true,
			Summary: "Record a use of a card at a venue (venue defaults to the caller).", Request: command.RecordUse{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[command.RecordUse]{
				prepare: func(_ context.Context, r *http.Request, p domain.Principal, c *command.RecordUse) error {
					c.Card = card.ID(pathID(r))
					if c.Venue == "" {
						c.Venue = partner.ID(p.Partner)
					}
					return Authorize(p, Scope{Partner: string(c.Venue)})
				},
				run: h.RecordUse,
				id:  func(_ command.RecordUse, res command.Result) string { return res.UseID },
			})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/uses/{useId}/cancellation", Roles: venues, CardPayload: true, Status: http.StatusOK,
			Summary: "Cancel a wrongly recorded use (only the venue that recorded it).", Request: command.CancelUse{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[command.CancelUse]{optionalBody: true,
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CancelUse) error {
					c.Card, c.Use = card.ID(pathID(r)), card.UseID(chi.URLParam(r, "useId"))
					if _, err := card.ParseID(string(c.Card)); err != nil {
						return err
					}
					cd, err := d.Commands.LoadCard(ctx, c.Card)
					if err != nil {
						return err
					}
					for _, u := range cd.Uses() {
						if u.Use == c.Use {
							return Authorize(p, Scope{Partner: string(u.Venue)})
						}
					}
					return fmt.Errorf("use %s of card %s: %w", c.Use, c.Card, domain.ErrNotFound)
				},
				run: h.CancelUse})},
	}
}
