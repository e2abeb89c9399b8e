package agreement

import (
	"strings"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// ID names an agreement.
type ID string

// ParseID checks that s is a slug (domain.IsSlug) and returns it as an ID,
// or a *domain.Invalid with code "invalid_id".
func ParseID(s string) (ID, error) {
	if err := domain.CheckID("id", s, "invalid_id"); err != nil {
		return "", err
	}
	return ID(s), nil
}

// Stream returns the agreement's stream id.
func Stream(id ID) domain.StreamID { return domain.NewStreamID("agreement", string(id)) }

// Kind is a pilot or a network agreement.
type Kind string

const (
	KindPilot   Kind = "pilot"
	KindNetwork Kind = "network"
)

// Rule violations of the agreement aggregate.
var (
	ErrExists                = &domain.Violation{Code: "agreement_exists", Message: "the agreement was already signed"}
	ErrNotSigned             = &domain.Violation{Code: "agreement_not_signed", Message: "no such agreement"}
	ErrTerminated            = &domain.Violation{Code: "agreement_terminated", Message: "the agreement was terminated"}
	ErrLocalityNotInNetwork  = &domain.Violation{Code: "locality_not_in_network", Message: "the locality is not in the network when the agreement starts"}
	ErrPartnerNotInLocality  = &domain.Violation{Code: "partner_not_in_locality", Message: "the partner does not belong to the locality"}
	ErrPartnerLeft           = &domain.Violation{Code: "partner_left", Message: "the partner has left"}
	ErrOutsidePilot          = &domain.Violation{Code: "outside_pilot_period", Message: "a pilot agreement must lie within the locality's pilot"}
	ErrNetworkDuringPilot    = &domain.Violation{Code: "network_agreement_during_pilot", Message: "network agreements start after the pilot"}
	ErrPartnerJoinedInPilot  = &domain.Violation{Code: "partner_joined_during_pilot", Message: "after the pilot only partners that joined after it sign"}
	ErrTerminationOutside    = &domain.Violation{Code: "termination_outside_validity", Message: "the termination date must lie within the agreement's validity"}
	ErrAmendmentBeforeSigned = &domain.Violation{Code: "amendment_before_validity", Message: "an agreement cannot end before it starts"}
)

// Entry is one line of an agreement's timeline.
type Entry struct {
	On         domain.Date
	What       string // "signed", "amended", "terminated" or "expired"
	ValidUntil domain.Date
	Note       string // an amendment's note or a termination's reason
}

// Agreement is the agreement aggregate.
type Agreement struct {
	signed     Signed
	validUntil domain.Date
	terminated *Terminated
	timeline   []Entry
	changes    []domain.Event
}

// Load rebuilds an agreement from its stream's events.
func Load(events []domain.Event) *Agreement {
	a := &Agreement{}
	for _, e := range events {
		a.apply(e)
	}
	return a
}

// Changes returns the events raised since Load, in order.
func (a *Agreement) Changes() []domain.Event { return a.changes }

// Exists reports whether the agreement was signed.
func (a *Agreement) Exists() bool { return a.signed.ID != "" }

// Signed returns the agreement as signed.
func (a *Agreement) Signed() Signed { return a.signed }

// ValidUntil returns the agreement's last valid day after amendments, or
// the zero date for a network agreement valid until further notice.
func (a *Agreement) ValidUntil() domain.Date { return a.validUntil }

// OpenEnded reports whether the agreement runs until further notice (a
// network agreement signed or amended without a last valid day).
func (a *Agreement) OpenEnded() bool { return a.Exists() && a.validUntil.IsZero() }

// endsBefore reports whether the (amended) validity ended before d; an
// open-ended agreement never does.
func (a *Agreement) endsBefore(d domain.Date) bool {
	return !a.validUntil.IsZero() && d.After(a.validUntil)
}

// TerminatedOn returns the termination date, or the zero date.
func (a *Agreement) TerminatedOn() domain.Date {
	if a.terminated == nil {
		return domain.Date{}
	}
	return a.terminated.On
}

// InForceOn reports whether the agreement is in force on d: within its
// (amended) validity and before any termination date.
func (a *Agreement) InForceOn(d domain.Date) bool {
	if !a.Exists() || d.Before(a.signed.ValidFrom) || a.endsBefore(d) {
		return false
	}
	return a.terminated == nil || d.Before(a.terminated.On)
}

// Timeline returns every signing, amendment and termination in the order
// they were recorded, followed by an "expired" entry (on the day after the
// last valid day) when asOf is past the validity and the agreement was not
// terminated. An open-ended agreement never expires.
func (a *Agreement) Timeline(asOf domain.Date) []Entry {
	out := append([]Entry(nil), a.timeline...)
	if a.Exists() && a.terminated == nil && a.endsBefore(asOf) {
		out = append(out, Entry{On: a.validUntil.AddDays(1), What: "expired", ValidUntil: a.validUntil})
	}
	return out
}

// Sign signs the agreement s between loc and p (the facts of s.Locality
// and s.Partner). It returns ErrExists, a *domain.Invalid for a malformed
// id, kind, template or period, and ErrLocalityNotInNetwork,
// ErrPartnerNotInLocality, ErrPartnerLeft, ErrOutsidePilot,
// ErrNetworkDuringPilot or ErrPartnerJoinedInPilot when the network's
// state on s.ValidFrom does not allow it.
func (a *Agreement) Sign(s Signed, loc locality.Facts, p partner.Facts) error {
	if a.Exists() {
		return ErrExists
	}
	if _, err := ParseID(string(s.ID)); err != nil {
		return err
	}
	s.TemplateVersion = strings.TrimSpace(s.TemplateVersion)
	switch {
	case s.Kind != KindPilot && s.Kind != KindNetwork:
		return domain.Invalidf("invalid_kind", "kind", "%q is not pilot or network", s.Kind)
	case s.TemplateVersion == "":
		return domain.Invalidf("missing_field", "templateVersion", "is required")
	case s.ValidFrom.IsZero():
		return domain.Invalidf("missing_date", "validFrom", "is required")
	case s.ValidUntil.IsZero() && s.Kind != KindNetwork:
		return domain.Invalidf("missing_date", "validUntil", "is required for a pilot agreement; only a network agreement may run until further notice")
	case !s.ValidUntil.IsZero() && s.ValidUntil.Before(s.ValidFrom):
		return domain.Invalidf("invalid_period", "validUntil", "%s is before validFrom %s", s.ValidUntil, s.ValidFrom)
	}
	switch {
	case !loc.Exists() || loc.ID != s.Locality || !loc.InNetworkOn(s.ValidFrom):
		return domain.Violationf(ErrLocalityNotInNetwork.Code, "locality %q is not in the network on %s", s.Locality, s.ValidFrom)
	case !p.Exists() || p.ID != s.Partner || p.Locality != s.Locality:
		return domain.Violationf(ErrPartnerNotInLocality.Code, "partner %q is not a partner of %q", s.Partner, s.Locality)
	case p.LeftBy(s.ValidFrom):
		return domain.Violationf(ErrPartnerLeft.Code, "partner %q left on %s", s.Partner, p.LeftOn)
	}
	pilotEnd := loc.PilotEnd()
	switch s.Kind {
	case KindPilot:
		if loc.Pilot == nil || s.ValidFrom.Before(loc.Pilot.From) || s.ValidUntil.After(pilotEnd) {
			return domain.Violationf(ErrOutsidePilot.Code, "a pilot agreement must lie within the pilot (%s)", pilotText(loc))
		}
	case KindNetwork:
		if loc.Pilot != nil {
			if !s.ValidFrom.After(pilotEnd) {
				return domain.Violationf(ErrNetworkDuringPilot.Code, "the pilot runs until %s; network agreements start after it", pilotEnd)
			}
			if !p.JoinedOn.After(pilotEnd) {
				return domain.Violationf(ErrPartnerJoinedInPilot.Code, "partner %q joined on %s, during the pilot that ran until %s; it signs no network agreement", s.Partner, p.JoinedOn, pilotEnd)
			}
		}
	}
	a.raise(s)
	return nil
}

// Amend sets a new last valid day, on on; a zero validUntil makes a
// network agreement run until further notice. It returns ErrNotSigned,
// ErrTerminated, ErrAmendmentBeforeSigned when validUntil is before the
// agreement's start, or a *domain.Invalid for a missing date of a pilot
// agreement.
func (a *Agreement) Amend(on, validUntil domain.Date, reason string, note domain.Person) error {
	if err := a.open(); err != nil {
		return err
	}
	if validUntil.IsZero() {
		if a.signed.Kind != KindNetwork {
			return domain.Invalidf("missing_date", "validUntil", "is required for a pilot agreement")
		}
		a.raise(Amended{On: on, Reason: reason, Note: note})
		return nil
	}
	if validUntil.Before(a.signed.ValidFrom) {
		return domain.Violationf(ErrAmendmentBeforeSigned.Code, "validUntil %s is before the agreement starts on %s", validUntil, a.signed.ValidFrom)
	}
	a.raise(Amended{On: on, ValidUntil: validUntil, Reason: reason, Note: note})
	return nil
}

// Terminate ends the agreement on on. It returns ErrNotSigned,
// ErrTerminated, or ErrTerminationOutside unless on lies within the
// agreement's (amended) validity.
func (a *Agreement) Terminate(on domain.Date, reason string, note domain.Person) error {
	if err := a.open(); err != nil {
		return err
	}
	if on.Before(a.signed.ValidFrom) || a.endsBefore(on) {
		return domain.Violationf(ErrTerminationOutside.Code, "%s is outside the validity %s – %s", on, a.signed.ValidFrom, untilText(a.validUntil))
	}
	a.raise(Terminated{On: on, Reason: reason, Note: note})
	return nil
}

func (a *Agreement) open() error {
	switch {
	case !a.Exists():
		return ErrNotSigned
	case a.terminated != nil:
		return domain.Violationf(ErrTerminated.Code, "the agreement was terminated on %s", a.terminated.On)
	}
	return nil
}

func (a *Agreement) raise(e domain.Event) {
	a.apply(e)
	a.changes = append(a.changes, e)
}

func (a *Agreement) apply(e domain.Event) {
	switch e := e.(type) {
	case Signed:
		a.signed, a.validUntil = e, e.ValidUntil
		a.timeline = append(a.timeline, Entry{On: e.ValidFrom, What: "signed", ValidUntil: e.ValidUntil})
	case Amended:
		a.validUntil = e.ValidUntil
		a.timeline = append(a.timeline, Entry{On: e.On, What: "amended", ValidUntil: e.ValidUntil, Note: e.Reason})
	case Terminated:
		t := e
		a.terminated = &t
		a.timeline = append(a.timeline, Entry{On: e.On, What: "terminated", ValidUntil: a.validUntil, Note: e.Reason})
	}
}

func pilotText(loc locality.Facts) string {
	if loc.Pilot == nil {
		return "the locality has no pilot"
	}
	return loc.Pilot.From.String() + " – " + loc.PilotEnd().String()
}

// untilText is a last valid day for messages; zero is "until further notice".
func untilText(d domain.Date) string {
	if d.IsZero() {
		return "until further notice"
	}
	return d.String()
}
