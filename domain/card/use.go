package card

import (
	"strings"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// UseID identifies one use on a card. The venue may choose it; otherwise
// the command layer assigns one.
type UseID string

// ParseUseID checks that s is a slug (domain.IsSlug) and returns it, or a
// *domain.Invalid with code "invalid_use_id".
func ParseUseID(s string) (UseID, error) {
	if err := domain.CheckID("id", s, "invalid_use_id"); err != nil {
		return "", err
	}
	return UseID(s), nil
}

// UseKind is an event (an admission ticket) or a course (a course place
// or a season pass).
type UseKind string

const (
	UseEvent  UseKind = "event"
	UseCourse UseKind = "course"
)

// Use is what a venue records.
type Use struct {
	ID           UseID
	Venue        partner.ID
	UsedOn       domain.Date
	Category     string  // the venue's category when empty
	Kind         UseKind // event when empty
	ChildTickets int
	Assistant    bool
}

// UseState is a recorded use and whether it was cancelled.
type UseState struct {
	UseRecorded
	Cancelled bool
}

// VenueFacts are the cross-aggregate facts a use is checked against: the
// venue partner, the card's locality and the venue's locality.
type VenueFacts struct {
	Venue         partner.Facts
	CardLocality  locality.Facts
	VenueLocality locality.Facts
}

// RecordUse records u under rules (the guideline in force on u.UsedOn).
// It returns a *domain.Invalid for a malformed use, and ErrNotRegistered,
// ErrUsedBeforeIssue, ErrCancelled, ErrReplaced, ErrExpired,
// ErrDuplicateUse, ErrVenueUnknown, ErrNotAVenue, ErrVenueNotJoined,
// ErrVenueLeft, ErrOutOfScope, ErrUnknownCategory, ErrChildTicketsCourse or
// ErrTooManyChildTickets when the state on u.UsedOn refuses it. When
// either the card's or the venue's locality has local scope on u.UsedOn,
// the card is valid only at venues of its own locality.
func (c *Card) RecordUse(u Use, f VenueFacts, rules guideline.Rules) error {
	if _, err := ParseUseID(string(u.ID)); err != nil {
		return err
	}
	if u.Kind == "" {
		u.Kind = UseEvent
	}
	switch {
	case u.UsedOn.IsZero():
		return domain.Invalidf("missing_date", "usedOn", "is required")
	case u.Kind != UseEvent && u.Kind != UseCourse:
		return domain.Invalidf("invalid_kind", "kind", "%q is not event or course", u.Kind)
	case u.ChildTickets < 0:
		return domain.Invalidf("invalid_child_tickets", "childTickets", "must not be negative")
	}
	on := u.UsedOn
	switch {
	case !c.Exists():
		return ErrNotRegistered
	case on.Before(c.issuedOn):
		return domain.Violationf(ErrUsedBeforeIssue.Code, "card %s was issued on %s, after %s", c.id, c.issuedOn, on)
	case !c.cancelledOn.IsZero() && c.cancelledOn.OnOrBefore(on):
		return domain.Violationf(ErrCancelled.Code, "card %s was cancelled on %s", c.id, c.cancelledOn)
	case !c.replacedOn.IsZero() && c.replacedOn.OnOrBefore(on):
		return domain.Violationf(ErrReplaced.Code, "card %s was replaced by %s on %s", c.id, c.replacedBy, c.replacedOn)
	case !c.inValidity(on):
		return domain.Violationf(ErrExpired.Code, "card %s is not valid on %s (valid until %s)", c.id, on, c.validUntilOn(on))
	case c.uses[u.ID] != nil:
		return domain.Violationf(ErrDuplicateUse.Code, "use %q is already recorded on card %s", u.ID, c.id)
	}
	v := f.Venue
	switch {
	case !v.Exists() || v.ID != u.Venue:
		return domain.Violationf(ErrVenueUnknown.Code, "venue %q is not a partner", u.Venue)
	case v.Kind != partner.KindVenue:
		return domain.Violationf(ErrNotAVenue.Code, "%q is a %s, not a venue", u.Venue, v.Kind)
	case on.Before(v.JoinedOn):
		return domain.Violationf(ErrVenueNotJoined.Code, "venue %q joined on %s, after %s", u.Venue, v.JoinedOn, on)
	case v.LeftBy(on):
		return domain.Violationf(ErrVenueLeft.Code, "venue %q left on %s", u.Venue, v.LeftOn)
	}
	if v.Locality != c.locality &&
		(f.CardLocality.ScopeAt(on) == locality.ScopeLocal || f.VenueLocality.ScopeAt(on) == locality.ScopeLocal) {
		return domain.Violationf(ErrOutOfScope.Code, "card %s of %q is not valid at %q of %q: one of them has local scope on %s", c.id, c.locality, u.Venue, v.Locality, on)
	}
	if u.Category = strings.TrimSpace(u.Category); u.Category == "" {
		u.Category = string(v.Category)
	}
	switch {
	case !rules.HasCategory(u.Category):
		return domain.Violationf(ErrUnknownCategory.Code, "category %q is not one of %v", u.Category, rules.Categories)
	case u.Kind == UseCourse && u.ChildTickets > 0 && !rules.ChildTicketsForCourses:
		return domain.Violationf(ErrChildTicketsCourse.Code, "children's tickets do not apply to courses under the guideline in force on %s", on)
	case u.ChildTickets > c.holder.MinorChildren:
		return domain.Violationf(ErrTooManyChildTickets.Code, "%d children's tickets, but card %s has %d registered minor children", u.ChildTickets, c.id, c.holder.MinorChildren)
	}
	c.raise(UseRecorded{Use: u.ID, Venue: u.Venue, VenueLocality: v.Locality, UsedOn: on, Category: u.Category,
		Kind: u.Kind, ChildTickets: u.ChildTickets, Assistant: u.Assistant})
	return nil
}

// CancelUse voids a wrongly recorded use on on. It returns
// ErrNotRegistered, ErrUnknownUse or ErrUseAlreadyCancelled.
func (c *Card) CancelUse(id UseID, reason string, note domain.Person, on domain.Date) error {
	if !c.Exists() {
		return ErrNotRegistered
	}
	u := c.uses[id]
	switch {
	case u == nil:
		return domain.Violationf(ErrUnknownUse.Code, "card %s has no use %q", c.id, id)
	case u.Cancelled:
		return domain.Violationf(ErrUseAlreadyCancelled.Code, "use %q on card %s was already cancelled", id, c.id)
	}
	c.raise(UseCancelled{Use: id, Reason: reason, On: on, Note: note})
	return nil
}

// validUntilOn returns the end of the last validity period that began on
// or before d, for messages.
func (c *Card) validUntilOn(d domain.Date) domain.Date {
	var until domain.Date
	for _, p := range c.periods {
		if p.from.OnOrBefore(d) {
			until = p.until
		}
	}
	return until
}
