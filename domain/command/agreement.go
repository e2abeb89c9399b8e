package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// SignAgreement is POST /v1/agreements. Its business date is ValidFrom.
type SignAgreement struct {
	ID              agreement.ID
	Locality        locality.ID
	Partner         partner.ID
	Kind            agreement.Kind
	TemplateVersion string
	ValidFrom       domain.Date
	// ValidUntil is the last valid day; the zero date signs a network
	// agreement until further notice (a pilot agreement needs one).
	ValidUntil domain.Date
}

// SignAgreement signs an agreement; see agreement.Agreement.Sign.
func (h *Handler) SignAgreement(ctx context.Context, md domain.Metadata, c SignAgreement) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	if _, err := agreement.ParseID(string(c.ID)); err != nil {
		return Result{}, err
	}
	on := h.date(c.ValidFrom)
	return update(ctx, h, md, on, agreement.Stream(c.ID), agreement.Load, func(ctx context.Context, a *agreement.Agreement) error {
		loc, err := h.locality(ctx, c.Locality, reference)
		if err != nil {
			return err
		}
		p, err := h.partner(ctx, c.Partner, reference)
		if err != nil {
			return err
		}
		return a.Sign(agreement.Signed{ID: c.ID, Locality: c.Locality, Partner: c.Partner, Kind: c.Kind,
			TemplateVersion: c.TemplateVersion, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil}, loc.Facts(), p.Facts())
	})
}

// AmendAgreement is POST /v1/agreements/{id}/amendments.
type AmendAgreement struct {
	Agreement  agreement.ID
	On         domain.Date
	ValidUntil domain.Date
	Reason     string
	Note       string
}

// AmendAgreement amends an agreement; see agreement.Agreement.Amend.
func (h *Handler) AmendAgreement(ctx context.Context, md domain.Metadata, c AmendAgreement) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateAgreement(ctx, md, on, c.Agreement, func(a *agreement.Agreement) error { return a.Amend(on, c.ValidUntil, c.Reason, domain.NewNote(c.Note)) })
}

// TerminateAgreement is POST /v1/agreements/{id}/termination.
type TerminateAgreement struct {
	Agreement agreement.ID
	On        domain.Date
	Reason    string
	Note      string
}

// TerminateAgreement terminates an agreement; see
// agreement.Agreement.Terminate.
func (h *Handler) TerminateAgreement(ctx context.Context, md domain.Metadata, c TerminateAgreement) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateAgreement(ctx, md, on, c.Agreement, func(a *agreement.Agreement) error { return a.Terminate(on, c.Reason, domain.NewNote(c.Note)) })
}

func (h *Handler) updateAgreement(ctx context.Context, md domain.Metadata, on domain.Date, id agreement.ID, decide func(*agreement.Agreement) error) (Result, error) {
	if _, err := agreement.ParseID(string(id)); err != nil {
		return Result{}, err
	}
	return update(ctx, h, md, on, agreement.Stream(id), agreement.Load, func(ctx context.Context, a *agreement.Agreement) error {
		if !a.Exists() {
			return notFound("agreement", id)
		}
		return decide(a)
	})
}
