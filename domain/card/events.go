package card

import (
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func init() {
	domain.Register[Issued]()
	domain.Register[Renewed]()
	domain.Register[Replaced]()
	domain.Register[ReplacementIssued]()
	domain.Register[DetailsCorrected]()
	domain.Register[Cancelled]()
	domain.Register[UseRecorded]()
	domain.Register[UseCancelled]()
}

// Holder is everything the register keeps about a cardholder. It has no
// place for a name, identity code, birth date or address, on purpose.
type Holder struct {
	BirthYear     int    `json:"birthYear"`
	PostalCode    string `json:"postalCode"`
	MinorChildren int    `json:"minorChildren"` // own or same-household minor children or grandchildren
	LifeSituation string `json:"lifeSituation,omitempty"`
	Gender        string `json:"gender,omitempty"`
}

// Issued records that an approved issuer office registered a new card. It
// is a new registration (statistics count it as such).
type Issued struct {
	Card       ID          `json:"card"`
	Issuer     partner.ID  `json:"issuer"`
	Locality   locality.ID `json:"locality"`
	IssuedOn   domain.Date `json:"issuedOn"`
	ValidUntil domain.Date `json:"validUntil"`
	Kind       Kind        `json:"kind"`
	Holder     Holder      `json:"holder"`
}

func (Issued) EventName() string { return "card.issued.v1" }

// Renewed records that the issuing unit renewed the card on On.
type Renewed struct {
	On         domain.Date `json:"on"`
	ValidUntil domain.Date `json:"validUntil"`
}

func (Renewed) EventName() string { return "card.renewed.v1" }

// Replaced records, on the old card's stream, that NewCard replaced it
// from On; the old card is no longer used from that day.
type Replaced struct {
	NewCard ID          `json:"newCard"`
	On      domain.Date `json:"on"`
}

func (Replaced) EventName() string { return "card.replaced.v1" }

// ReplacementIssued records, on the new card's stream, a card that
// replaces a lost one. It carries the old card's registration over and is
// not a new registration.
type ReplacementIssued struct {
	Card         ID          `json:"card"`
	ReplacesCard ID          `json:"replacesCard"`
	Issuer       partner.ID  `json:"issuer"`
	Locality     locality.ID `json:"locality"`
	IssuedOn     domain.Date `json:"issuedOn"`
	ValidUntil   domain.Date `json:"validUntil"`
	Kind         Kind        `json:"kind"`
	Holder       Holder      `json:"holder"`
}

func (ReplacementIssued) EventName() string { return "card.replacement_issued.v1" }

// DetailsCorrected records corrections to the holder's details; nil
// fields are unchanged.
type DetailsCorrected struct {
	On            domain.Date `json:"on"`
	MinorChildren *int        `json:"minorChildren,omitempty"`
	PostalCode    *string     `json:"postalCode,omitempty"`
	LifeSituation *string     `json:"lifeSituation,omitempty"`
	Gender        *string     `json:"gender,omitempty"`
	BirthYear     *int        `json:"birthYear,omitempty"`
}

func (DetailsCorrected) EventName() string { return "card.details_corrected.v1" }

// Cancelled records that the card is cancelled from On.
type Cancelled struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"` // a code of CancelReasons (free text in events before codes)
	// Note is the optional free-text note, kept in the event's erasable
	// personal part under a subject of its own (it may name a person).
	Note domain.Person `json:"-"`
}

func (Cancelled) EventName() string { return "card.cancelled.v1" }

// PersonalData returns the note's personal part.
func (e *Cancelled) PersonalData() *domain.Person { return &e.Note }

// UseRecorded records one use: an admission ticket (event) or a course
// place or season pass (course), with the children's tickets taken
// alongside and whether an assistant came along (always free).
type UseRecorded struct {
	Use           UseID       `json:"use"`
	Venue         partner.ID  `json:"venue"`
	VenueLocality locality.ID `json:"venueLocality"`
	UsedOn        domain.Date `json:"usedOn"`
	Category      string      `json:"category"`
	Kind          UseKind     `json:"kind"`
	ChildTickets  int         `json:"childTickets"`
	Assistant     bool        `json:"assistant"`
}

func (UseRecorded) EventName() string { return "card.use_recorded.v1" }

// UseCancelled records that a wrongly recorded use is void; it counts
// nowhere.
type UseCancelled struct {
	Use    UseID       `json:"use"`
	Reason string      `json:"reason,omitempty"` // a code of UseCancelReasons (free text in events before codes)
	On     domain.Date `json:"on"`
	// Note is the optional free-text note, kept in the event's erasable
	// personal part under a subject of its own (it may name a person).
	Note domain.Person `json:"-"`
}

func (UseCancelled) EventName() string { return "card.use_cancelled.v1" }

// PersonalData returns the note's personal part.
func (e *UseCancelled) PersonalData() *domain.Person { return &e.Note }

// CancelReasons are the published reason codes of a card cancellation.
var CancelReasons = []string{"holder_request", "no_longer_eligible", "moved_away", "deceased", "issued_in_error", "misuse", "other"}

// UseCancelReasons are the published reason codes of a use cancellation.
var UseCancelReasons = []string{"wrong_card", "wrong_date", "wrong_category", "wrong_child_tickets", "duplicate", "did_not_attend", "other"}

// LifeSituations are the published codes of a holder's voluntary life
// situation, as the issuing form offers them.
var LifeSituations = []string{"unemployed", "retired", "student", "disability", "caregiver", "low_income", "immigrant", "rehabilitation", "family", "other"}

// Genders are the published codes of a holder's voluntary gender.
var Genders = []string{"female", "male", "other", "undisclosed"}
