package partner

import (
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
)

func init() {
	domain.Register[Joined]()
	domain.Register[IssuerApproved]()
	domain.Register[ContactChanged]()
	domain.Register[GuidelineCommitted]()
	domain.Register[Left]()
}

// Joined records that an office or venue location joined a locality's
// network. Contact is personal data, stored apart from the event.
type Joined struct {
	ID       ID            `json:"id"`
	Locality locality.ID   `json:"locality"`
	Name     string        `json:"name"`
	Kind     Kind          `json:"kind"`
	Category Category      `json:"category"`
	Contact  domain.Person `json:"-"`
	JoinedOn domain.Date   `json:"joinedOn"`
}

func (Joined) EventName() string { return "partner.joined.v1" }

// PersonalData returns the contact person, stored apart from the event.
func (e *Joined) PersonalData() *domain.Person { return &e.Contact }

// IssuerApproved records that Kaikukeskus approved a new issuer office,
// which may issue cards from On.
type IssuerApproved struct {
	On domain.Date `json:"on"`
}

func (IssuerApproved) EventName() string { return "partner.issuer_approved.v1" }

// ContactChanged records that Contact replaced the previous contact
// person from On.
type ContactChanged struct {
	Contact domain.Person `json:"-"`
	On      domain.Date   `json:"on"`
}

func (ContactChanged) EventName() string { return "partner.contact_changed.v1" }

// PersonalData returns the new contact person, stored apart from the event.
func (e *ContactChanged) PersonalData() *domain.Person { return &e.Contact }

// GuidelineCommitted records that the partner committed to a version of
// the national guideline, and how the commitment was made.
type GuidelineCommitted struct {
	GuidelineVersion guideline.Version `json:"guidelineVersion"`
	Via              Via               `json:"via"`
	On               domain.Date       `json:"on"`
}

func (GuidelineCommitted) EventName() string { return "partner.guideline_committed.v1" }

// Left records that the partner left the network; On is its first day out.
type Left struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"` // a code of DepartureReasons (free text in events before codes)
	// Note is the optional free-text note, kept in the event's erasable
	// personal part under a subject of its own (it may name a person).
	Note domain.Person `json:"-"`
}

func (Left) EventName() string { return "partner.left.v1" }

// PersonalData returns the note's personal part.
func (e *Left) PersonalData() *domain.Person { return &e.Note }

// DepartureReasons are the published reason codes of a partner leaving.
var DepartureReasons = []string{"closed", "merged", "withdrew", "moved_out_of_locality", "no_commitment", "other"}
