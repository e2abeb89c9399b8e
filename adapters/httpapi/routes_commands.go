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
	"github.com/kaiku/kaiku/domain/guideline"
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
type cmdSpec[R, C any] struct {
	// optionalBody lets an empty body stand for {} (every field optional).
	optionalBody bool
	// to maps the decoded request body to the domain command.
	to func(R) C
	// prepare sets the path ids and checks the principal's scope (it may
	// load aggregates to learn the owner).
	prepare func(ctx context.Context, r *http.Request, p domain.Principal, c *C) error
	run     func(ctx context.Context, md domain.Metadata, c C) (command.Result, error)
	// id names what was created, or nil.
	id func(c C, res command.Result) string
}

// commandHandler decodes the body strictly into the request type R (the
// one door of every command), maps it to its command, prepares it, runs it
// and answers status with a CommandResult.
func commandHandler[R, C any](status int, s cmdSpec[R, C]) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req R
		if err := decodeCommand(r, &req, s.optionalBody); err != nil {
			return err
		}
		c := s.to(req)
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

// decodeCommand decodes r's body into dst like Decode; with optional, an
// empty body (of any content type) leaves dst zero.
func decodeCommand(r *http.Request, dst any, optional bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	empty := len(bytes.TrimSpace(body)) == 0
	if optional && empty {
		return nil
	}
	if !empty && !isJSON(r.Header.Get("Content-Type")) {
		return errUnsupportedMediaType
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
			Summary: "Register a locality (Kaikukeskus).", Request: registerLocalityRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[registerLocalityRequest, command.RegisterLocality]{
				to:  registerLocalityRequest.command,
				run: h.RegisterLocality,
				id:  func(c command.RegisterLocality, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/pilot-conclusion", Roles: national, Status: http.StatusOK,
			Summary: "Conclude a locality's pilot: it is established from then on.", Request: onRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[onRequest, command.ConcludePilot]{optionalBody: true,
				to: func(r onRequest) command.ConcludePilot { return command.ConcludePilot{On: r.On} },
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ConcludePilot) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.ConcludePilot})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/departure", Roles: national, Status: http.StatusOK,
			Summary: "Record that a locality left the network.", Request: leaveLocalityRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[leaveLocalityRequest, command.LeaveLocality]{
				to: func(r leaveLocalityRequest) command.LeaveLocality {
					return command.LeaveLocality{On: r.On, Reason: r.Reason, Note: r.Note}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.LeaveLocality) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.LeaveLocality})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/coordinators", Roles: network, Status: http.StatusOK,
			Summary: "Assign a locality's locally responsible person (culture or social side).", Request: coordinatorRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[coordinatorRequest, command.AssignCoordinator]{
				to: func(r coordinatorRequest) command.AssignCoordinator {
					return command.AssignCoordinator{Side: r.Side, Name: r.Name, Email: r.Email, Phone: r.Phone, On: r.On}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.AssignCoordinator) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.AssignCoordinator})},
		{Method: http.MethodPost, Pattern: "/v1/localities/{id}/feedback-meetings", Roles: network,
			Summary: "Record a held feedback meeting.", Request: feedbackMeetingRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[feedbackMeetingRequest, command.HoldFeedbackMeeting]{
				to: func(r feedbackMeetingRequest) command.HoldFeedbackMeeting {
					return command.HoldFeedbackMeeting{HeldOn: r.HeldOn, Participants: r.Participants}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.HoldFeedbackMeeting) error {
					return onLocality(ctx, r, p, &c.Locality)
				},
				run: h.HoldFeedbackMeeting})},

		// Partners.
		{Method: http.MethodPost, Pattern: "/v1/partners", Roles: network,
			Summary: "A partner (issuer office or venue) joins a locality.", Request: joinPartnerRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[joinPartnerRequest, command.JoinPartner]{
				to: joinPartnerRequest.command,
				prepare: func(_ context.Context, _ *http.Request, p domain.Principal, c *command.JoinPartner) error {
					return scopeLocality(p, c.Locality)
				},
				run: h.JoinPartner,
				id:  func(c command.JoinPartner, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/partners/{id}/approval", Roles: national, Status: http.StatusOK,
			Summary: "Approve a new issuer (Kaikukeskus).", Request: onRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[onRequest, command.ApproveIssuer]{optionalBody: true,
				to: func(r onRequest) command.ApproveIssuer { return command.ApproveIssuer{On: r.On} },
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ApproveIssuer) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.ApproveIssuer})},
		{Method: http.MethodPut, Pattern: "/v1/partners/{id}/contact", Roles: network,
			Summary: "Replace a partner's designated contact person.", Request: changeContactRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[changeContactRequest, command.ChangeContact]{
				to: func(r changeContactRequest) command.ChangeContact {
					return command.ChangeContact{Name: r.Name, Email: r.Email, Phone: r.Phone, On: r.On}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ChangeContact) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.ChangeContact})},
		{Method: http.MethodPost, Pattern: "/v1/partners/{id}/commitments", Roles: network, Status: http.StatusOK,
			Summary: "Record a partner's commitment to a guideline version.", Request: commitmentRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[commitmentRequest, command.CommitToGuideline]{
				to: func(r commitmentRequest) command.CommitToGuideline {
					return command.CommitToGuideline{GuidelineVersion: guideline.Version(r.GuidelineVersion), Via: r.Via, On: r.On}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CommitToGuideline) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.CommitToGuideline})},
		{Method: http.MethodPost, Pattern: "/v1/partners/{id}/departure", Roles: network, Status: http.StatusOK,
			Summary: "Record that a partner left the network.", Request: leavePartnerRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[leavePartnerRequest, command.LeavePartner]{
				to: func(r leavePartnerRequest) command.LeavePartner {
					return command.LeavePartner{On: r.On, Reason: r.Reason, Note: r.Note}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.LeavePartner) error {
					return onPartner(ctx, r, p, &c.Partner)
				},
				run: h.LeavePartner})},

		// Agreements.
		{Method: http.MethodPost, Pattern: "/v1/agreements", Roles: network,
			Summary: "Sign an agreement between a locality and a partner.", Request: signAgreementRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[signAgreementRequest, command.SignAgreement]{
				to: signAgreementRequest.command,
				prepare: func(_ context.Context, _ *http.Request, p domain.Principal, c *command.SignAgreement) error {
					return scopeLocality(p, c.Locality)
				},
				run: h.SignAgreement,
				id:  func(c command.SignAgreement, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/agreements/{id}/amendments", Roles: network,
			Summary: "Amend an agreement's validity.", Request: amendAgreementRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[amendAgreementRequest, command.AmendAgreement]{
				to: func(r amendAgreementRequest) command.AmendAgreement {
					return command.AmendAgreement{On: r.On, ValidUntil: r.ValidUntil, Reason: r.Reason, Note: r.Note}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.AmendAgreement) error {
					return onAgreement(ctx, r, p, &c.Agreement)
				},
				run: h.AmendAgreement})},
		{Method: http.MethodPost, Pattern: "/v1/agreements/{id}/termination", Roles: network, Status: http.StatusOK,
			Summary: "Terminate an agreement.", Request: terminateAgreementRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[terminateAgreementRequest, command.TerminateAgreement]{
				to: func(r terminateAgreementRequest) command.TerminateAgreement {
					return command.TerminateAgreement{On: r.On, Reason: r.Reason, Note: r.Note}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.TerminateAgreement) error {
					return onAgreement(ctx, r, p, &c.Agreement)
				},
				run: h.TerminateAgreement})},

		// The national guideline.
		{Method: http.MethodPost, Pattern: "/v1/guidelines", Roles: national,
			Summary: "Adopt a new version of the national guideline (Kaikukeskus).", Request: reviseGuidelineRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[reviseGuidelineRequest, command.ReviseGuideline]{
				to:  reviseGuidelineRequest.command,
				run: h.ReviseGuideline,
				id:  func(c command.ReviseGuideline, _ command.Result) string { return string(c.Version) },
			})},

		// Cards.
		{Method: http.MethodPost, Pattern: "/v1/cards", Roles: issuers,
			Summary: "Issue a card (an approved, committed issuer office; issuer defaults to the caller).", Request: issueCardRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[issueCardRequest, command.IssueCard]{
				to: issueCardRequest.command,
				prepare: func(_ context.Context, _ *http.Request, p domain.Principal, c *command.IssueCard) error {
					if c.Issuer == "" {
						c.Issuer = partner.ID(p.Partner)
					}
					return Authorize(p, Scope{Partner: string(c.Issuer)})
				},
				run: h.IssueCard,
				id:  func(c command.IssueCard, _ command.Result) string { return string(c.ID) },
			})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/renewal", Roles: issuers, Status: http.StatusOK,
			Summary: "Renew a card at its issuing unit.", Request: onRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[onRequest, command.RenewCard]{optionalBody: true,
				to: func(r onRequest) command.RenewCard { return command.RenewCard{On: r.On} },
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.RenewCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.RenewCard})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/replacement", Roles: issuers,
			Summary: "Replace a lost card by a new card number.", Request: replaceCardRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[replaceCardRequest, command.ReplaceCard]{
				to: func(r replaceCardRequest) command.ReplaceCard {
					return command.ReplaceCard{NewCardID: card.ID(r.NewCardID), On: r.On}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.ReplaceCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.ReplaceCard,
				id:  func(c command.ReplaceCard, _ command.Result) string { return string(c.NewCardID) },
			})},
		{Method: http.MethodPatch, Pattern: "/v1/cards/{id}", Roles: issuers,
			Summary: "Correct a card's registered details; the fields given replace the registered ones.", Request: correctCardRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[correctCardRequest, command.CorrectCard]{
				to: func(r correctCardRequest) command.CorrectCard {
					return command.CorrectCard{On: r.On, MinorChildren: r.MinorChildren, PostalCode: r.PostalCode,
						LifeSituation: r.LifeSituation, Gender: r.Gender, BirthYear: r.BirthYear}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CorrectCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.CorrectCard})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/cancellation", Roles: issuers, Status: http.StatusOK,
			Summary: "Cancel a card.", Request: cancelCardRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[cancelCardRequest, command.CancelCard]{optionalBody: true,
				to: func(r cancelCardRequest) command.CancelCard {
					return command.CancelCard{On: r.On, Reason: r.Reason, Note: r.Note}
				},
				prepare: func(ctx context.Context, r *http.Request, p domain.Principal, c *command.CancelCard) error {
					return onCard(ctx, r, p, &c.Card)
				},
				run: h.CancelCard})},
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/uses", Roles: venues,
			Summary: "Record a use of a card at a venue (venue defaults to the caller).", Request: recordUseRequest{}, Response: res,
			Handler: commandHandler(http.StatusCreated, cmdSpec[recordUseRequest, command.RecordUse]{
				to: recordUseRequest.command,
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
		{Method: http.MethodPost, Pattern: "/v1/cards/{id}/uses/{useId}/cancellation", Roles: venues, Status: http.StatusOK,
			Summary: "Cancel a wrongly recorded use (only the venue that recorded it).", Request: cancelUseRequest{}, Response: res,
			Handler: commandHandler(http.StatusOK, cmdSpec[cancelUseRequest, command.CancelUse]{optionalBody: true,
				to: func(r cancelUseRequest) command.CancelUse {
					return command.CancelUse{On: r.On, Reason: r.Reason, Note: r.Note}
				},
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
