package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
)

// ReviseGuideline is POST /v1/guidelines. Its business date is AdoptedOn.
type ReviseGuideline struct {
	Version       guideline.Version `json:"version"`
	AdoptedOn     domain.Date       `json:"adoptedOn"`
	EffectiveFrom domain.Date       `json:"effectiveFrom"`
	Rules         guideline.Rules   `json:"rules"`
}

// ReviseGuideline adopts a guideline version; see
// guideline.Guideline.Revise.
func (h *Handler) ReviseGuideline(ctx context.Context, md domain.Metadata, c ReviseGuideline) (Result, error) {
	on := h.date(c.AdoptedOn)
	return update(ctx, h, md, on, guideline.Stream, guideline.Load, func(ctx context.Context, g *guideline.Guideline) error {
		return g.Revise(guideline.Revised{Version: c.Version, AdoptedOn: on, EffectiveFrom: c.EffectiveFrom, Rules: c.Rules})
	})
}
