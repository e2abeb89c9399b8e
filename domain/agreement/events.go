package agreement

import (
	"encoding/json"
	"fmt"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func init() {
	domain.Register[Signed]()
	domain.Register[Amended]()
	domain.RegisterUpcaster("agreement.amended.v1", upcastAmendedV1)
	domain.Register[Terminated]()
}

// Signed records an agreement between a locality and one of its partners.
type Signed struct {
	ID              ID          `json:"id"`
	Locality        locality.ID `json:"locality"`
	Partner         partner.ID  `json:"partner"`
	Kind            Kind        `json:"kind"`
	TemplateVersion string      `json:"templateVersion"`
	ValidFrom       domain.Date `json:"validFrom"`
	// ValidUntil is the last valid day; zero (null) for a network
	// agreement valid until further notice.
	ValidUntil domain.Date `json:"validUntil"`
}

func (Signed) EventName() string { return "agreement.signed.v1" }

// Amended records an amendment made on On that sets the agreement's last
// valid day to ValidUntil (zero: a network agreement until further notice).
type Amended struct {
	On         domain.Date `json:"on"`
	ValidUntil domain.Date `json:"validUntil"`
	Reason     string      `json:"reason,omitempty"` // a code of AmendmentReasons
	// Note is the optional free-text note, kept in the event's erasable
	// personal part under a subject of its own (it may name a person).
	Note domain.Person `json:"-"`
}

// EventName is v2: v1 kept its free-text note in the event's data, where it
// could not be erased; upcastAmendedV1 moves it into the personal part.
func (Amended) EventName() string { return "agreement.amended.v2" }

// PersonalData returns the note's personal part.
func (e *Amended) PersonalData() *domain.Person { return &e.Note }

// amendedV1 is the stored shape of agreement.amended.v1.
type amendedV1 struct {
	On         domain.Date `json:"on"`
	ValidUntil domain.Date `json:"validUntil"`
	Note       string      `json:"note,omitempty"`
}

// upcastAmendedV1 reads an agreement.amended.v1 as an Amended whose note
// (free text in v1's data) is the note of the personal part.
func upcastAmendedV1(r domain.Record) (domain.Event, error) {
	var v amendedV1
	if err := json.Unmarshal(r.Data, &v); err != nil {
		return nil, fmt.Errorf("decode agreement.amended.v1 at %s/%d: %w", r.Stream, r.Version, err)
	}
	e := Amended{On: v.On, ValidUntil: v.ValidUntil}
	if v.Note != "" {
		e.Reason, e.Note = "other", domain.Person{Note: v.Note}
	}
	return e, nil
}

// Terminated records that the agreement ends on On (its first day out of
// force).
type Terminated struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"` // a code of TerminationReasons (free text in events before codes)
	// Note is the optional free-text note, kept in the event's erasable
	// personal part under a subject of its own (it may name a person).
	Note domain.Person `json:"-"`
}

func (Terminated) EventName() string { return "agreement.terminated.v1" }

// PersonalData returns the note's personal part.
func (e *Terminated) PersonalData() *domain.Person { return &e.Note }

// AmendmentReasons are the published reason codes of an amendment.
var AmendmentReasons = []string{"extension", "shortening", "correction", "other"}

// TerminationReasons are the published reason codes of a termination.
var TerminationReasons = []string{"partner_left", "locality_left", "mutual_agreement", "replaced_by_new_agreement", "breach", "other"}
