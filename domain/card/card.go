package card

import (
	"slices"
	"strings"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// ID is a card number as printed on the card and read from its QR code or
// Code 39 barcode ("K-0001234").
type ID string

// ParseID checks that s is a card number: 3–32 upper-case letters, digits
// and '-', starting with a letter or digit (a Code 39-safe subset), holding
// no personal identity code (personal_data_refused). It
// returns a *domain.Invalid with code "invalid_card_number" otherwise.
func ParseID(s string) (ID, error) {
	if domain.ContainsIdentityCode(s) {
		return "", domain.Invalidf("personal_data_refused", "id", "%s", domain.PersonalDataMessage)
	}
	ok := len(s) >= 3 && len(s) <= 32
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		alnum := c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		ok = alnum || (i > 0 && c == '-')
	}
	if !ok {
		return "", domain.Invalidf("invalid_card_number", "id", "a card number must be 3–32 upper-case letters, digits or '-'")
	}
	return ID(s), nil
}

// Stream returns the card's stream id.
func Stream(id ID) domain.StreamID { return domain.NewStreamID("card", string(id)) }

// Kind is a personal card or a community card.
type Kind string

const (
	KindPersonal  Kind = "personal"
	KindCommunity Kind = "community"
)

// Rule violations of the card aggregate, one code each.
var (
	ErrExists              = &domain.Violation{Code: "card_exists", Message: "a card with this number is already registered"}
	ErrNotRegistered       = &domain.Violation{Code: "card_not_registered", Message: "the card is not registered"}
	ErrIssuerUnknown       = &domain.Violation{Code: "issuer_unknown", Message: "no such issuer"}
	ErrNotAnIssuer         = &domain.Violation{Code: "not_an_issuer", Message: "the partner is not an issuer"}
	ErrIssuerNotJoined     = &domain.Violation{Code: "issuer_not_joined", Message: "the issuer had not joined on that date"}
	ErrIssuerNotApproved   = &domain.Violation{Code: "issuer_not_approved", Message: "the issuer is not approved by Kaikukeskus"}
	ErrIssuerNotCommitted  = &domain.Violation{Code: "issuer_not_committed", Message: "the issuer has not committed to the national guideline"}
	ErrIssuerLeft          = &domain.Violation{Code: "issuer_left", Message: "the issuer has left the network"}
	ErrLocalityNotMember   = &domain.Violation{Code: "locality_not_in_network", Message: "the issuer's locality is not in the network on that date"}
	ErrHolderTooYoung      = &domain.Violation{Code: "holder_too_young", Message: "the holder is younger than the guideline allows"}
	ErrBeforeIssue         = &domain.Violation{Code: "before_issue", Message: "the date is before the card was issued"}
	ErrCancelled           = &domain.Violation{Code: "card_cancelled", Message: "the card is cancelled"}
	ErrAlreadyCancelled    = &domain.Violation{Code: "card_already_cancelled", Message: "the card was already cancelled"}
	ErrReplaced            = &domain.Violation{Code: "card_replaced", Message: "the card was replaced by a new card"}
	ErrExpired             = &domain.Violation{Code: "card_expired", Message: "the card has expired"}
	ErrActiveAfter         = &domain.Violation{Code: "card_active_after", Message: "the card was used or renewed after that date"}
	ErrRenewalByOther      = &domain.Violation{Code: "renewal_by_other_issuer", Message: "a card is renewed only at the issuing unit"}
	ErrUsedBeforeIssue     = &domain.Violation{Code: "used_before_issue", Message: "the use is dated before the card was issued"}
	ErrTooManyChildTickets = &domain.Violation{Code: "too_many_child_tickets", Message: "more children's tickets than the card's registered minor children"}
	ErrChildTicketsCourse  = &domain.Violation{Code: "child_tickets_not_for_courses", Message: "children's tickets do not apply to courses"}
	ErrVenueUnknown        = &domain.Violation{Code: "venue_unknown", Message: "no such venue"}
	ErrNotAVenue           = &domain.Violation{Code: "not_a_venue", Message: "the partner is not a venue"}
	ErrVenueNotJoined      = &domain.Violation{Code: "venue_not_joined", Message: "the venue had not joined on that date"}
	ErrVenueLeft           = &domain.Violation{Code: "venue_left", Message: "the venue has left the network"}
	ErrOutOfScope          = &domain.Violation{Code: "out_of_scope", Message: "the card is not valid at venues of another locality"}
	ErrUnknownCategory     = &domain.Violation{Code: "unknown_category", Message: "the category is not one of the guideline's use categories"}
	ErrDuplicateUse        = &domain.Violation{Code: "duplicate_use", Message: "a use with this id is already recorded"}
	ErrUnknownUse          = &domain.Violation{Code: "unknown_use", Message: "no such use on this card"}
	ErrUseAlreadyCancelled = &domain.Violation{Code: "use_already_cancelled", Message: "the use was already cancelled"}
)

// Issuance is what an issuer office gives to issue a card.
type Issuance struct {
	Card     ID
	Issuer   partner.ID
	IssuedOn domain.Date
	Kind     Kind // personal when empty
	Holder   Holder
}

// Card is the card aggregate.
type Card struct {
	id          ID
	issuer      partner.ID
	locality    locality.ID
	kind        Kind
	holder      Holder
	issuedOn    domain.Date
	replaces    ID
	periods     []Period // validity periods: issue and each renewal
	replacedBy  ID
	replacedOn  domain.Date
	cancelledOn domain.Date
	renewedOn   domain.Date // the latest renewal
	uses        map[UseID]*UseState
	useOrder    []UseID
	changes     []domain.Event
}

// Load rebuilds a card from its stream's events; no events give a card
// that is not registered.
func Load(events []domain.Event) *Card {
	c := &Card{uses: map[UseID]*UseState{}}
	for _, e := range events {
		c.apply(e)
	}
	return c
}

// Changes returns the events raised since Load, in order.
func (c *Card) Changes() []domain.Event { return c.changes }

// Exists reports whether the card is registered.
func (c *Card) Exists() bool { return c.id != "" }

// ID returns the card number.
func (c *Card) ID() ID { return c.id }

// Issuer returns the issuing unit.
func (c *Card) Issuer() partner.ID { return c.issuer }

// Locality returns the locality the card was issued in.
func (c *Card) Locality() locality.ID { return c.locality }

// Kind returns the card's kind.
func (c *Card) Kind() Kind { return c.kind }

// Holder returns the holder's registered details, corrections applied.
func (c *Card) Holder() Holder { return c.holder }

// IssuedOn returns the date the card was issued (or issued as a replacement).
func (c *Card) IssuedOn() domain.Date { return c.issuedOn }

// Replaces returns the card this one replaced, or "".
func (c *Card) Replaces() ID { return c.replaces }

// ReplacedBy returns the card that replaced this one, or "".
func (c *Card) ReplacedBy() ID { return c.replacedBy }

// CancelledOn returns the cancellation date, or the zero date.
func (c *Card) CancelledOn() domain.Date { return c.cancelledOn }

// ValidUntil returns the last valid day of the latest issue or renewal.
func (c *Card) ValidUntil() domain.Date {
	return c.Standing().ValidUntil()
}

// Standing returns what decides whether the card can be used on a date
// (see Standing); RecordUse applies the same rule.
func (c *Card) Standing() Standing {
	return Standing{Card: c.id, Locality: c.locality, IssuedOn: c.issuedOn, Periods: slices.Clone(c.periods),
		CancelledOn: c.cancelledOn, ReplacedOn: c.replacedOn, ReplacedBy: c.replacedBy, MinorChildren: c.holder.MinorChildren}
}

// ValidOn reports whether the card can be used on d: d falls in a
// validity period (the issue's or a renewal's) and the card had been
// neither cancelled nor replaced by d.
func (c *Card) ValidOn(d domain.Date) bool {
	return c.Standing().validOn(d) == nil
}

// Uses returns every use recorded on the card in recording order, each
// marked when cancelled.
func (c *Card) Uses() []UseState {
	out := make([]UseState, 0, len(c.useOrder))
	for _, id := range c.useOrder {
		out = append(out, *c.uses[id])
	}
	return out
}

// Issue registers a new card. issuer are the facts of i.Issuer, loc those
// of its locality, and rules the guideline in force on i.IssuedOn. It
// returns a *domain.Invalid for a malformed card number, kind or holder,
// and ErrExists, ErrIssuerUnknown, ErrNotAnIssuer, ErrIssuerNotJoined,
// ErrIssuerLeft, ErrIssuerNotApproved, ErrIssuerNotCommitted,
// ErrLocalityNotMember or ErrHolderTooYoung when the rules on i.IssuedOn
// do not allow it. ValidUntil is computed from rules.
func (c *Card) Issue(i Issuance, issuer partner.Facts, loc locality.Facts, rules guideline.Rules) error {
	if c.Exists() {
		return ErrExists
	}
	if _, err := ParseID(string(i.Card)); err != nil {
		return err
	}
	if i.Kind == "" {
		i.Kind = KindPersonal
	}
	if i.Kind != KindPersonal && i.Kind != KindCommunity {
		return domain.Invalidf("invalid_kind", "kind", "%q is not personal or community", i.Kind)
	}
	if i.IssuedOn.IsZero() {
		return domain.Invalidf("missing_date", "issuedOn", "is required")
	}
	h, err := cleanHolder(i.Holder, i.Kind, i.IssuedOn)
	if err != nil {
		return err
	}
	on := i.IssuedOn
	switch {
	case !issuer.Exists() || issuer.ID != i.Issuer:
		return domain.Violationf(ErrIssuerUnknown.Code, "issuer %q is not a partner", i.Issuer)
	case issuer.Kind != partner.KindIssuer:
		return domain.Violationf(ErrNotAnIssuer.Code, "%q is a %s, not an issuer", i.Issuer, issuer.Kind)
	case on.Before(issuer.JoinedOn):
		return domain.Violationf(ErrIssuerNotJoined.Code, "issuer %q joined on %s, after %s", i.Issuer, issuer.JoinedOn, on)
	case issuer.LeftBy(on):
		return domain.Violationf(ErrIssuerLeft.Code, "issuer %q left on %s", i.Issuer, issuer.LeftOn)
	case !issuer.ApprovedBy(on):
		return domain.Violationf(ErrIssuerNotApproved.Code, "issuer %q was not approved by Kaikukeskus on %s", i.Issuer, on)
	case !issuer.CommittedBy(on):
		return domain.Violationf(ErrIssuerNotCommitted.Code, "issuer %q had not committed to the national guideline by %s", i.Issuer, on)
	case loc.ID != issuer.Locality || !loc.InNetworkOn(on):
		return domain.Violationf(ErrLocalityNotMember.Code, "locality %q is not in the network on %s", issuer.Locality, on)
	case h.BirthYear != 0 && !rules.AgeOldEnough(h.BirthYear, on):
		return domain.Violationf(ErrHolderTooYoung.Code, "a holder born in %d is under %d in %d", h.BirthYear, rules.MinHolderAge, on.Year())
	}
	c.raise(Issued{Card: i.Card, Issuer: i.Issuer, Locality: issuer.Locality, IssuedOn: on,
		ValidUntil: rules.ValidUntil(on), Kind: i.Kind, Holder: h})
	return nil
}

// Renew renews the card on on, by the issuing unit by ("" is the issuing
// unit acting through Kaikukeskus or the system), under rules in force on
// on. It returns ErrNotRegistered, ErrBeforeIssue, ErrCancelled,
// ErrReplaced or ErrRenewalByOther.
func (c *Card) Renew(on domain.Date, by partner.ID, rules guideline.Rules) error {
	if err := c.alive(on); err != nil {
		return err
	}
	if by != "" && by != c.issuer {
		return domain.Violationf(ErrRenewalByOther.Code, "card %s was issued by %q; %q cannot renew it", c.id, c.issuer, by)
	}
	c.raise(Renewed{On: on, ValidUntil: rules.ValidUntil(on)})
	return nil
}

// Replace replaces the lost card old by a new card (newCard, loaded from
// newID's stream, which must be empty) on on. The new card carries the old
// one's registration and validity over. It returns a *domain.Invalid for a
// malformed or identical card number, ErrExists when newID is taken, and
// ErrNotRegistered, ErrBeforeIssue, ErrCancelled, ErrReplaced,
// ErrActiveAfter or ErrExpired for the old card on on. Like Cancel, it
// judges on against the card's whole history (see endable): a card
// cancelled or replaced on any date is never replaced.
func Replace(old, newCard *Card, newID ID, on domain.Date) error {
	if _, err := ParseID(string(newID)); err != nil {
		return err
	}
	if err := old.alive(on); err != nil {
		return err
	}
	if err := old.endable(on); err != nil {
		return err
	}
	switch {
	case newID == old.id:
		return domain.Invalidf("same_card", "newCardId", "a card cannot replace itself")
	case newCard.Exists():
		return domain.Violationf(ErrExists.Code, "card %s is already registered", newID)
	case !old.Standing().inValidity(on):
		return domain.Violationf(ErrExpired.Code, "card %s expired on %s; renew it instead", old.id, old.ValidUntil())
	}
	old.raise(Replaced{NewCard: newID, On: on})
	newCard.raise(ReplacementIssued{Card: newID, ReplacesCard: old.id, Issuer: old.issuer, Locality: old.locality,
		IssuedOn: on, ValidUntil: old.ValidUntil(), Kind: old.kind, Holder: old.holder})
	return nil
}

// Correct applies the register's corrections to the holder's details (the
// register overrides the card) as of fix.On. It returns ErrNotRegistered,
// ErrCancelled, ErrReplaced, or a *domain.Invalid when nothing is to be
// corrected or a value is malformed.
func (c *Card) Correct(fix DetailsCorrected) error {
	if err := c.alive(fix.On); err != nil {
		return err
	}
	if fix.MinorChildren == nil && fix.PostalCode == nil && fix.LifeSituation == nil && fix.Gender == nil && fix.BirthYear == nil {
		return domain.Invalidf("nothing_to_correct", "", "name at least one detail to correct")
	}
	h := c.holder
	if fix.MinorChildren != nil {
		h.MinorChildren = *fix.MinorChildren
	}
	if fix.PostalCode != nil {
		h.PostalCode = *fix.PostalCode
	}
	if fix.LifeSituation != nil {
		h.LifeSituation = *fix.LifeSituation
	}
	if fix.Gender != nil {
		h.Gender = *fix.Gender
	}
	if fix.BirthYear != nil {
		h.BirthYear = *fix.BirthYear
	}
	if _, err := cleanHolder(h, c.kind, domain.MaxDate(fix.On, c.issuedOn)); err != nil {
		return err
	}
	c.raise(fix)
	return nil
}

// Cancel cancels the card from on. It returns ErrNotRegistered,
// ErrBeforeIssue, ErrAlreadyCancelled, ErrReplaced (a replaced card is
// cancelled through its replacement) or ErrActiveAfter (see endable).
func (c *Card) Cancel(on domain.Date, reason string, note domain.Person) error {
	if !c.cancelledOn.IsZero() && c.Exists() {
		return domain.Violationf(ErrAlreadyCancelled.Code, "card %s was cancelled on %s", c.id, c.cancelledOn)
	}
	if err := c.alive(on); err != nil {
		return err
	}
	if err := c.endable(on); err != nil {
		return err
	}
	c.raise(Cancelled{On: on, Reason: reason, Note: note})
	return nil
}

// alive checks that the card exists, that on is not before its issue and
// that it was neither cancelled nor replaced by on.
func (c *Card) alive(on domain.Date) error {
	switch {
	case !c.Exists():
		return ErrNotRegistered
	case on.IsZero():
		return domain.Invalidf("missing_date", "on", "is required")
	case on.Before(c.issuedOn):
		return domain.Violationf(ErrBeforeIssue.Code, "%s is before card %s was issued on %s", on, c.id, c.issuedOn)
	case !c.cancelledOn.IsZero() && c.cancelledOn.OnOrBefore(on):
		return domain.Violationf(ErrCancelled.Code, "card %s was cancelled on %s", c.id, c.cancelledOn)
	case !c.replacedOn.IsZero() && c.replacedOn.OnOrBefore(on):
		return domain.Violationf(ErrReplaced.Code, "card %s was replaced by %s on %s", c.id, c.replacedBy, c.replacedOn)
	}
	return nil
}

// endable checks that the card's life may end on on (a cancellation or a
// replacement), judged against its whole recorded history rather than its
// state on on. The rule: a command is accepted only if, placed at its
// business date among the facts already recorded, every one of them would
// still have been accepted. Hence an end is refused
//
//   - when the card has already ended on any date, earlier or later: a
//     replacement dated before a cancellation would otherwise issue a live
//     successor to a cancelled card (the card "comes back"), and a second
//     replacement two successors;
//   - when on is before the latest use that still counts, renewal or
//     correction: those would have been refused on a card that had ended.
//     A use wrongly recorded after the card was lost is cancelled first
//     (a use cancellation), then the card is cancelled from the earlier
//     date.
//
// Facts that fit before an end (a late-entered use or renewal dated
// before the cancellation) stay accepted; RecordUse and alive judge them.
func (c *Card) endable(on domain.Date) error {
	switch {
	case !c.cancelledOn.IsZero():
		return domain.Violationf(ErrCancelled.Code, "card %s was cancelled on %s; a cancelled card is not replaced or cancelled on any date", c.id, c.cancelledOn)
	case !c.replacedOn.IsZero():
		return domain.Violationf(ErrReplaced.Code, "card %s was replaced by %s on %s; act on the new card", c.id, c.replacedBy, c.replacedOn)
	}
	last, what := c.renewedOn, "renewed"
	for _, u := range c.uses {
		if !u.Cancelled && u.UsedOn.After(last) {
			last, what = u.UsedOn, "used"
		}
	}
	if on.Before(last) {
		return domain.Violationf(ErrActiveAfter.Code, "card %s was %s on %s, after %s; cancel such uses first or date the change on or after %s",
			c.id, what, last, on, last)
	}
	return nil
}

func (c *Card) raise(e domain.Event) {
	c.apply(e)
	c.changes = append(c.changes, e)
}

func (c *Card) apply(e domain.Event) {
	switch e := e.(type) {
	case Issued:
		c.id, c.issuer, c.locality, c.kind, c.holder, c.issuedOn = e.Card, e.Issuer, e.Locality, e.Kind, e.Holder, e.IssuedOn
		c.periods = append(c.periods, Period{e.IssuedOn, e.ValidUntil})
	case ReplacementIssued:
		c.id, c.issuer, c.locality, c.kind, c.holder, c.issuedOn = e.Card, e.Issuer, e.Locality, e.Kind, e.Holder, e.IssuedOn
		c.replaces = e.ReplacesCard
		c.periods = append(c.periods, Period{e.IssuedOn, e.ValidUntil})
	case Renewed:
		c.periods = append(c.periods, Period{e.On, e.ValidUntil})
		c.renewedOn = domain.MaxDate(c.renewedOn, e.On)
	case Replaced:
		c.replacedBy, c.replacedOn = e.NewCard, e.On
	case DetailsCorrected:
		if e.MinorChildren != nil {
			c.holder.MinorChildren = *e.MinorChildren
		}
		if e.PostalCode != nil {
			c.holder.PostalCode = *e.PostalCode
		}
		if e.LifeSituation != nil {
			c.holder.LifeSituation = *e.LifeSituation
		}
		if e.Gender != nil {
			c.holder.Gender = *e.Gender
		}
		if e.BirthYear != nil {
			c.holder.BirthYear = *e.BirthYear
		}
	case Cancelled:
		c.cancelledOn = e.On
	case UseRecorded:
		c.uses[e.Use] = &UseState{UseRecorded: e}
		c.useOrder = append(c.useOrder, e.Use)
	case UseCancelled:
		if u, ok := c.uses[e.Use]; ok {
			u.Cancelled = true
		}
	}
}

// cleanHolder validates a holder's details for a card of kind issued on
// on. Birth year is mandatory for personal cards and optional for
// community cards.
func cleanHolder(h Holder, kind Kind, on domain.Date) (Holder, error) {
	h.PostalCode = strings.TrimSpace(h.PostalCode)
	h.LifeSituation = strings.TrimSpace(h.LifeSituation)
	h.Gender = strings.TrimSpace(h.Gender)
	switch {
	case h.BirthYear == 0 && kind == KindPersonal:
		return h, domain.Invalidf("missing_field", "holder.birthYear", "is required")
	case h.BirthYear != 0 && (h.BirthYear < 1900 || h.BirthYear > on.Year()):
		return h, domain.Invalidf("invalid_birth_year", "holder.birthYear", "%d is not a year between 1900 and %d", h.BirthYear, on.Year())
	case !isPostalCode(h.PostalCode):
		return h, domain.Invalidf("invalid_postal_code", "holder.postalCode", "%q is not a 5-digit postal code", h.PostalCode)
	case h.MinorChildren < 0 || h.MinorChildren > 30:
		return h, domain.Invalidf("invalid_minor_children", "holder.minorChildren", "%d is not between 0 and 30", h.MinorChildren)
	case !isToken(h.LifeSituation):
		return h, domain.Invalidf("invalid_life_situation", "holder.lifeSituation", "must be a code of at most 32 lower-case letters, digits, '-' or '_', not free text")
	case !isToken(h.Gender):
		return h, domain.Invalidf("invalid_gender", "holder.gender", "must be a code of at most 32 lower-case letters, digits, '-' or '_', not free text")
	}
	return h, nil
}

func isPostalCode(s string) bool {
	if len(s) != 5 {
		return false
	}
	for i := range 5 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isToken accepts "" (not given) or a short lower-case code. Voluntary
// details are codes, not free text, so that nothing identifying can be
// typed into them.
func isToken(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
