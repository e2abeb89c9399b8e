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
// ErrTooManyChildTickets when the state on u.UsedOn refuses it. A
// refusal tells the venue what it needs to serve the holder and nothing
// else: never the replacement card's number or another locality. When
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
	on, s := u.UsedOn, c.Standing()
	if err := s.validOn(on); err != nil {
		return err
	}
	if c.uses[u.ID] != nil {
		return domain.Violationf(ErrDuplicateUse.Code, "use %q is already recorded on card %s", u.ID, c.id)
	}
	v := f.Venue
	if v.ID != u.Venue {
		return domain.Violationf(ErrVenueUnknown.Code, "venue %q is not a partner", u.Venue)
	}
	if err := s.venueAccepts(on, f); err != nil {
		return err
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
