package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"

	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// LoadLocality returns the locality id, or an error wrapping
// domain.ErrNotFound when it was never registered.
func (h *Handler) LoadLocality(ctx context.Context, id locality.ID) (*locality.Locality, error) {
	l, err := h.locality(ctx, id, fresh)
	if err == nil && !l.Exists() {
		err = notFound("locality", id)
	}
	return l, err
}

// LoadPartner returns the partner id, or an error wrapping
// domain.ErrNotFound when it never joined.
func (h *Handler) LoadPartner(ctx context.Context, id partner.ID) (*partner.Partner, error) {
	p, err := h.partner(ctx, id, fresh)
	if err == nil && !p.Exists() {
		err = notFound("partner", id)
	}
	return p, err
}

// LoadAgreement returns the agreement id, or an error wrapping
// domain.ErrNotFound when it was never signed.
func (h *Handler) LoadAgreement(ctx context.Context, id agreement.ID) (*agreement.Agreement, error) {
	events, _, _, err := h.load(ctx, agreement.Stream(id), fresh)
	if err != nil {
		return nil, err
	}
	a := agreement.Load(events)
	if !a.Exists() {
		return nil, notFound("agreement", id)
	}
	return a, nil
}

// LoadCard returns the card id, or an error wrapping domain.ErrNotFound
// when it is not registered.
func (h *Handler) LoadCard(ctx context.Context, id card.ID) (*card.Card, error) {
	events, _, _, err := h.load(ctx, card.Stream(id), fresh)
	if err != nil {
		return nil, err
	}
	c := card.Load(events)
	if !c.Exists() {
		return nil, notFound("card", id)
	}
	return c, nil
}

// Guideline returns the national guideline, or an error wrapping
// domain.ErrNotFound when no version was ever adopted.
func (h *Handler) Guideline(ctx context.Context) (*guideline.Guideline, error) {
	g, err := h.guideline(ctx, fresh)
	if err == nil && !g.Exists() {
		err = notFound("guideline", "national")
	}
	return g, err
}

// locality loads a locality that may not exist; an empty id gives an
// empty locality without reading. Commands load other aggregates than
// their target in the reference mode.
func (h *Handler) locality(ctx context.Context, id locality.ID, mode readMode) (*locality.Locality, error) {
	if id == "" {
		return locality.Load(nil), nil
	}
	events, _, _, err := h.load(ctx, locality.Stream(id), mode)
	if err != nil {
		return nil, err
	}
	return locality.Load(events), nil
}

// partner loads a partner that may not exist.
func (h *Handler) partner(ctx context.Context, id partner.ID, mode readMode) (*partner.Partner, error) {
	if id == "" {
		return partner.Load(nil), nil
	}
	events, _, _, err := h.load(ctx, partner.Stream(id), mode)
	if err != nil {
		return nil, err
	}
	return partner.Load(events), nil
}

func (h *Handler) guideline(ctx context.Context, mode readMode) (*guideline.Guideline, error) {
	events, _, _, err := h.load(ctx, guideline.Stream, mode)
	if err != nil {
		return nil, err
	}
	return guideline.Load(events), nil
}

// rulesAt returns the guideline rules in force on d, or
// guideline.ErrNoGuidelineInForce.
func (h *Handler) rulesAt(ctx context.Context, d domain.Date) (guideline.Rules, error) {
	g, err := h.guideline(ctx, reference)
	if err != nil {
		return guideline.Rules{}, err
	}
	return g.RulesAt(d)
}
