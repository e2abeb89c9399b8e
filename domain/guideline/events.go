package guideline

import "github.com/kaiku/kaiku/domain"

func init() {
	domain.Register[Revised]()
}

// Revised records that Kaikukeskus adopted a new version of the national
// guideline. The version governs from EffectiveFrom until the next
// version's EffectiveFrom.
type Revised struct {
	Version       Version     `json:"version"`
	AdoptedOn     domain.Date `json:"adoptedOn"`
	EffectiveFrom domain.Date `json:"effectiveFrom"`
	Rules         Rules       `json:"rules"`
}

func (Revised) EventName() string { return "guideline.revised.v1" }
