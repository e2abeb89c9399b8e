package guideline

import (
	"slices"

	"github.com/kaiku/kaiku/domain"
)

// Stream is the one stream the national guideline lives in.
var Stream = domain.NewStreamID("guideline", "national")

// Version names a guideline version ("2022").
type Version string

// ParseVersion checks that s is 1–32 letters, digits, '.', '_' or '-',
// starting with a letter or digit. It returns a *domain.Invalid
// ("invalid_guideline_version") otherwise.
func ParseVersion(s string) (Version, error) {
	ok := len(s) >= 1 && len(s) <= 32
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			ok = false
		}
	}
	if !ok {
		return "", domain.Invalidf("invalid_guideline_version", "version", "%q must be 1–32 letters, digits, '.', '_' or '-'", s)
	}
	return Version(s), nil
}

// Rule violations of the guideline aggregate.
var (
	ErrVersionExists      = &domain.Violation{Code: "guideline_version_exists", Message: "this guideline version was already adopted"}
	ErrNotAfterPrevious   = &domain.Violation{Code: "guideline_not_after_previous", Message: "a new guideline version must take effect after the previous one"}
	ErrNoGuidelineInForce = &domain.Violation{Code: "no_guideline_in_force", Message: "no guideline version is in force on that date"}
	ErrUnknownVersion     = &domain.Violation{Code: "unknown_guideline_version", Message: "no such guideline version"}
)

const errEffectiveBeforeAdop = "effective_before_adoption"

// Guideline is the national guideline with all its versions.
type Guideline struct {
	versions []Revised // in EffectiveFrom order (enforced by Revise)
	changes  []domain.Event
}

// Load rebuilds the guideline from its stream's events.
func Load(events []domain.Event) *Guideline {
	g := &Guideline{}
	for _, e := range events {
		g.apply(e)
	}
	return g
}

// Changes returns the events raised since Load, in order.
func (g *Guideline) Changes() []domain.Event { return g.changes }

// Exists reports whether any version was ever adopted.
func (g *Guideline) Exists() bool { return len(g.versions) > 0 }

// Versions returns every version in effective order.
func (g *Guideline) Versions() []Revised { return slices.Clone(g.versions) }

// Revise adopts version r. It returns a *domain.Invalid when the version
// name, the dates or the rules are malformed, ErrVersionExists when the
// version name is taken and ErrNotAfterPrevious unless r takes effect
// strictly after the latest version.
func (g *Guideline) Revise(r Revised) error {
	if _, err := ParseVersion(string(r.Version)); err != nil {
		return err
	}
	switch {
	case r.AdoptedOn.IsZero():
		return domain.Invalidf("missing_date", "adoptedOn", "is required")
	case r.EffectiveFrom.IsZero():
		return domain.Invalidf("missing_date", "effectiveFrom", "is required")
	case r.EffectiveFrom.Before(r.AdoptedOn):
		return domain.Invalidf(errEffectiveBeforeAdop, "effectiveFrom", "%s is before adoption on %s", r.EffectiveFrom, r.AdoptedOn)
	}
	if err := r.Rules.Validate(); err != nil {
		return err
	}
	for _, v := range g.versions {
		if v.Version == r.Version {
			return domain.Violationf(ErrVersionExists.Code, "guideline version %q was already adopted on %s", r.Version, v.AdoptedOn)
		}
	}
	if n := len(g.versions); n > 0 && !r.EffectiveFrom.After(g.versions[n-1].EffectiveFrom) {
		last := g.versions[n-1]
		return domain.Violationf(ErrNotAfterPrevious.Code, "version %q takes effect on %s; it must be after %s, when %q took effect", r.Version, r.EffectiveFrom, last.EffectiveFrom, last.Version)
	}
	r.Rules.Categories = slices.Clone(r.Rules.Categories)
	r.Rules.AgeBands = slices.Clone(r.Rules.AgeBands)
	g.raise(r)
	return nil
}

// At returns the version in force on d: the one with the latest
// EffectiveFrom on or before d. It returns ErrNoGuidelineInForce (with the
// date) when no version had taken effect by then.
func (g *Guideline) At(d domain.Date) (Revised, error) {
	for i := len(g.versions) - 1; i >= 0; i-- {
		if g.versions[i].EffectiveFrom.OnOrBefore(d) {
			return g.versions[i], nil
		}
	}
	return Revised{}, domain.Violationf(ErrNoGuidelineInForce.Code, "no guideline version is in force on %s", d)
}

// RulesAt returns the rules in force on d, or ErrNoGuidelineInForce.
func (g *Guideline) RulesAt(d domain.Date) (Rules, error) {
	r, err := g.At(d)
	return r.Rules, err
}

// Version returns version v, or ErrUnknownVersion.
func (g *Guideline) Version(v Version) (Revised, error) {
	for _, r := range g.versions {
		if r.Version == v {
			return r, nil
		}
	}
	return Revised{}, domain.Violationf(ErrUnknownVersion.Code, "guideline version %q was never adopted", v)
}

func (g *Guideline) raise(e domain.Event) {
	g.apply(e)
	g.changes = append(g.changes, e)
}

func (g *Guideline) apply(e domain.Event) {
	switch e := e.(type) {
	case Revised:
		g.versions = append(g.versions, e)
	}
}

// National2022 returns the national guideline as adopted on 2021-12-08 as
// version "2022", effective 2022-01-01 until further notice, for seeds and
// tests.
func National2022() Revised {
	return Revised{
		Version:       "2022",
		AdoptedOn:     domain.MustDate("2021-12-08"),
		EffectiveFrom: domain.MustDate("2022-01-01"),
		Rules: Rules{
			MinHolderAge:           16,
			CardValidityMonths:     12,
			ChildTicketMaxAge:      17,
			ChildTicketsForCourses: false,
			SmallCellThreshold:     5,
			Categories:             []string{"culture", "education", "science", "sport"},
			AgeBands:               []int{16, 25, 35, 50, 65},
		},
	}
}
