package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
)

// ReviseGuideline is POST /v1/guidelines. Its business date is AdoptedOn.
type ReviseGuideline struct {
	Version       guideline.Version
	AdoptedOn     domain.Date
	EffectiveFrom domain.Date
	Rules         guideline.Rules
}

// ReviseGuideline adopts a guideline version; see
// guideline.Guideline.Revise.
func (h *Handler) ReviseGuideline(ctx context.Context, md domain.Metadata, c ReviseGuideline) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.AdoptedOn)
	return update(ctx, h, md, on, guideline.Stream, guideline.Load, func(ctx context.Context, g *guideline.Guideline) error {
		return g.Revise(guideline.Revised{Version: c.Version, AdoptedOn: on, EffectiveFrom: c.EffectiveFrom, Rules: c.Rules})
	})
}
