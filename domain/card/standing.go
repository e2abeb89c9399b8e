package card

import (
	"slices"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Status is a card's standing on a date, as the card check at a venue's
// counter answers it.
type Status string

// The statuses of a card on a date.
const (
	StatusValid         Status = "valid"
	StatusExpired       Status = "expired"
	StatusCancelled     Status = "cancelled"
	StatusReplaced      Status = "replaced"
	StatusNotRegistered Status = "not_registered"
	// StatusNotYetValid is a card asked about before the date it was
	// issued (or issued as a replacement).
	StatusNotYetValid Status = "not_yet_valid"
)

// Period is one validity period of a card: its issue's or a renewal's,
// from From to Until inclusive.
type Period struct {
	From  domain.Date `json:"from"`
	Until domain.Date `json:"until"`
}

// Standing is what decides whether a card can be used on a date, as plain
// values that a read model can keep: the Card aggregate derives its own
// (so RecordUse and the card check apply one rule), and the cards read
// model rebuilds it from its rows. The zero Standing is a card that is not
// registered.
type Standing struct {
	Card          ID
	Locality      locality.ID
	IssuedOn      domain.Date
	Periods       []Period // in the order they were granted
	CancelledOn   domain.Date
	ReplacedOn    domain.Date
	ReplacedBy    ID
	MinorChildren int
}

// Exists reports whether the card is registered.
func (s Standing) Exists() bool { return s.Card != "" }

// ValidUntil returns the last valid day of the latest issue or renewal.
func (s Standing) ValidUntil() domain.Date {
	if len(s.Periods) == 0 {
		return domain.Date{}
	}
	return s.Periods[len(s.Periods)-1].Until
}

// StatusOn returns the card's status on d. Cancellation and replacement
// take precedence over expiry, as they do when a use is refused.
func (s Standing) StatusOn(d domain.Date) Status {
	switch err := s.validOn(d); err {
	case nil:
		return StatusValid
	case ErrNotRegistered:
		return StatusNotRegistered
	default:
		switch domain.CodeOf(err) {
		case ErrUsedBeforeIssue.Code:
			return StatusNotYetValid
		case ErrCancelled.Code:
			return StatusCancelled
		case ErrReplaced.Code:
			return StatusReplaced
		}
		return StatusExpired
	}
}

// UsableAt reports whether a use of the card on on at the venue f.Venue
// would be accepted as far as the card, the venue and the localities'
// scope go (what RecordUse checks besides the use's own fields): nil, or
// the violation RecordUse would return (ErrNotRegistered,
// ErrUsedBeforeIssue, ErrCancelled, ErrReplaced, ErrExpired,
// ErrVenueUnknown, ErrNotAVenue, ErrVenueNotJoined, ErrVenueLeft or
// ErrOutOfScope).
func (s Standing) UsableAt(on domain.Date, f VenueFacts) error {
	if err := s.validOn(on); err != nil {
		return err
	}
	return s.venueAccepts(on, f)
}

// validOn checks the card itself on on.
func (s Standing) validOn(on domain.Date) error {
	switch {
	case !s.Exists():
		return ErrNotRegistered
	case on.Before(s.IssuedOn):
		return domain.Violationf(ErrUsedBeforeIssue.Code, "card %s was issued on %s, after %s", s.Card, s.IssuedOn, on)
	case !s.CancelledOn.IsZero() && s.CancelledOn.OnOrBefore(on):
		return domain.Violationf(ErrCancelled.Code, "card %s was cancelled on %s", s.Card, s.CancelledOn)
	case !s.ReplacedOn.IsZero() && s.ReplacedOn.OnOrBefore(on):
		return domain.Violationf(ErrReplaced.Code, "card %s was replaced on %s; the holder has a new card", s.Card, s.ReplacedOn)
	case !s.inValidity(on):
		return domain.Violationf(ErrExpired.Code, "card %s is not valid on %s (valid until %s)", s.Card, on, s.validUntilOn(on))
	}
	return nil
}

// venueAccepts checks the venue and the scope of the card's and the
// venue's localities on on. When either has local scope, the card is
// valid only at venues of its own locality.
func (s Standing) venueAccepts(on domain.Date, f VenueFacts) error {
	v := f.Venue
	switch {
	case !v.Exists():
		return domain.Violationf(ErrVenueUnknown.Code, "venue %q is not a partner", v.ID)
	case v.Kind != partner.KindVenue:
		return domain.Violationf(ErrNotAVenue.Code, "%q is a %s, not a venue", v.ID, v.Kind)
	case on.Before(v.JoinedOn):
		return domain.Violationf(ErrVenueNotJoined.Code, "venue %q joined on %s, after %s", v.ID, v.JoinedOn, on)
	case v.LeftBy(on):
		return domain.Violationf(ErrVenueLeft.Code, "venue %q left on %s", v.ID, v.LeftOn)
	}
	if v.Locality != s.Locality &&
		(f.CardLocality.ScopeAt(on) == locality.ScopeLocal || f.VenueLocality.ScopeAt(on) == locality.ScopeLocal) {
		return domain.Violationf(ErrOutOfScope.Code, "card %s is not valid at %q: the card is valid only in its own locality, or the venue's locality takes only its own cards, on %s", s.Card, v.ID, on)
	}
	return nil
}

func (s Standing) inValidity(d domain.Date) bool {
	return slices.ContainsFunc(s.Periods, func(p Period) bool { return d.OnOrAfter(p.From) && d.OnOrBefore(p.Until) })
}

// validUntilOn returns the end of the last validity period that began on
// or before d, for messages.
func (s Standing) validUntilOn(d domain.Date) domain.Date {
	var until domain.Date
	for _, p := range s.Periods {
		if p.From.OnOrBefore(d) {
			until = p.Until
		}
	}
	return until
}
