package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
)

// RegisterLocality is POST /v1/localities.
type RegisterLocality struct {
	ID              locality.ID      `json:"id"`
	Name            string           `json:"name"`
	Municipalities  []string         `json:"municipalities"`
	WellbeingCounty string           `json:"wellbeingCounty,omitempty"`
	Scope           locality.Scope   `json:"scope"`
	JoinedOn        domain.Date      `json:"joinedOn"`
	Pilot           *locality.Period `json:"pilot,omitempty"`
}

// RegisterLocality registers a locality; see locality.Locality.Register
// for its rules. A taken id is locality.ErrAlreadyRegistered.
func (h *Handler) RegisterLocality(ctx context.Context, md domain.Metadata, c RegisterLocality) (Result, error) {
	if _, err := locality.ParseID(string(c.ID)); err != nil {
		return Result{}, err
	}
	on := h.date(c.JoinedOn)
	return update(ctx, h, md, on, locality.Stream(c.ID), locality.Load, func(ctx context.Context, l *locality.Locality) error {
		return l.Register(locality.Registered{ID: c.ID, Name: c.Name, Municipalities: c.Municipalities,
			WellbeingCounty: c.WellbeingCounty, Scope: c.Scope, JoinedOn: on, Pilot: c.Pilot})
	})
}

// ConcludePilot is the end of a locality's pilot.
type ConcludePilot struct {
	Locality locality.ID `json:"-"`
	On       domain.Date `json:"on"`
}

// ConcludePilot concludes the locality's pilot; see
// locality.Locality.ConcludePilot.
func (h *Handler) ConcludePilot(ctx context.Context, md domain.Metadata, c ConcludePilot) (Result, error) {
	on := h.date(c.On)
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.ConcludePilot(on) })
}

// LeaveLocality is a locality leaving the network.
type LeaveLocality struct {
	Locality locality.ID `json:"-"`
	On       domain.Date `json:"on"`
	Reason   string      `json:"reason"`
}

// LeaveLocality records that the locality leaves; see locality.Locality.Leave.
func (h *Handler) LeaveLocality(ctx context.Context, md domain.Metadata, c LeaveLocality) (Result, error) {
	on := h.date(c.On)
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.Leave(on, c.Reason) })
}

// AssignCoordinator is POST /v1/localities/{id}/coordinators.
type AssignCoordinator struct {
	Locality locality.ID   `json:"-"`
	Side     locality.Side `json:"side"`
	Name     string        `json:"name"`
	Email    string        `json:"email"`
	Phone    string        `json:"phone"`
	On       domain.Date   `json:"on"`
}

// AssignCoordinator assigns a coordinator; see
// locality.Locality.AssignCoordinator.
func (h *Handler) AssignCoordinator(ctx context.Context, md domain.Metadata, c AssignCoordinator) (Result, error) {
	on := h.date(c.On)
	p := domain.Person{Name: c.Name, Email: c.Email, Phone: c.Phone}
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.AssignCoordinator(c.Side, p, on) })
}

// HoldFeedbackMeeting is POST /v1/localities/{id}/feedback-meetings.
type HoldFeedbackMeeting struct {
	Locality     locality.ID `json:"-"`
	HeldOn       domain.Date `json:"heldOn"`
	Participants int         `json:"participants"`
}

// HoldFeedbackMeeting records a feedback meeting; see
// locality.Locality.HoldFeedbackMeeting.
func (h *Handler) HoldFeedbackMeeting(ctx context.Context, md domain.Metadata, c HoldFeedbackMeeting) (Result, error) {
	on := h.date(c.HeldOn)
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.HoldFeedbackMeeting(on, c.Participants) })
}

// updateLocality runs decide on an existing locality, or returns
// domain.ErrNotFound.
func (h *Handler) updateLocality(ctx context.Context, md domain.Metadata, on domain.Date, id locality.ID, decide func(*locality.Locality) error) (Result, error) {
	if _, err := locality.ParseID(string(id)); err != nil {
		return Result{}, err
	}
	return update(ctx, h, md, on, locality.Stream(id), locality.Load, func(ctx context.Context, l *locality.Locality) error {
		if !l.Exists() {
			return notFound("locality", id)
		}
		return decide(l)
	})
}
