package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
)

// RegisterLocality is POST /v1/localities.
type RegisterLocality struct {
	ID              locality.ID
	Name            string
	Municipalities  []string
	WellbeingCounty string
	Scope           locality.Scope
	JoinedOn        domain.Date
	Pilot           *locality.Period
}

// RegisterLocality registers a locality; see locality.Locality.Register
// for its rules. A taken id is locality.ErrAlreadyRegistered.
func (h *Handler) RegisterLocality(ctx context.Context, md domain.Metadata, c RegisterLocality) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
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
	Locality locality.ID
	On       domain.Date
}

// ConcludePilot concludes the locality's pilot; see
// locality.Locality.ConcludePilot.
func (h *Handler) ConcludePilot(ctx context.Context, md domain.Metadata, c ConcludePilot) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.ConcludePilot(on) })
}

// LeaveLocality is a locality leaving the network.
type LeaveLocality struct {
	Locality locality.ID
	On       domain.Date
	Reason   string
	Note     string
}

// LeaveLocality records that the locality leaves; see locality.Locality.Leave.
func (h *Handler) LeaveLocality(ctx context.Context, md domain.Metadata, c LeaveLocality) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.Leave(on, c.Reason, domain.NewNote(c.Note)) })
}

// AssignCoordinator is POST /v1/localities/{id}/coordinators.
type AssignCoordinator struct {
	Locality locality.ID
	Side     locality.Side
	Name     string
	Email    string
	Phone    string
	On       domain.Date
}

// AssignCoordinator assigns a coordinator; see
// locality.Locality.AssignCoordinator.
func (h *Handler) AssignCoordinator(ctx context.Context, md domain.Metadata, c AssignCoordinator) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	p := domain.Person{Name: c.Name, Email: c.Email, Phone: c.Phone}
	return h.updateLocality(ctx, md, on, c.Locality, func(l *locality.Locality) error { return l.AssignCoordinator(c.Side, p, on) })
}

// HoldFeedbackMeeting is POST /v1/localities/{id}/feedback-meetings.
type HoldFeedbackMeeting struct {
	Locality     locality.ID
	HeldOn       domain.Date
	Participants int
}

// HoldFeedbackMeeting records a feedback meeting; see
// locality.Locality.HoldFeedbackMeeting.
func (h *Handler) HoldFeedbackMeeting(ctx context.Context, md domain.Metadata, c HoldFeedbackMeeting) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
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
