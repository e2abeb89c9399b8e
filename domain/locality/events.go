package locality

import "github.com/kaiku/kaiku/domain"

func init() {
	domain.Register[Registered]()
	domain.Register[PilotConcluded]()
	domain.Register[Left]()
	domain.Register[CoordinatorAssigned]()
	domain.Register[FeedbackMeetingHeld]()
}

// Registered records that Kaikukeskus registered a locality in the network.
type Registered struct {
	ID              ID          `json:"id"`
	Name            string      `json:"name"`
	Municipalities  []string    `json:"municipalities"` // 3-digit Statistics Finland codes
	WellbeingCounty string      `json:"wellbeingCounty,omitempty"`
	Scope           Scope       `json:"scope"`
	JoinedOn        domain.Date `json:"joinedOn"`
	Pilot           *Period     `json:"pilot,omitempty"`
}

func (Registered) EventName() string { return "locality.registered.v1" }

// PilotConcluded records that the locality's pilot ended and it became an
// established member from On.
type PilotConcluded struct {
	On domain.Date `json:"on"`
}

func (PilotConcluded) EventName() string { return "locality.pilot_concluded.v1" }

// Left records that the locality left the network; On is its first day out.
type Left struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"` // a code of DepartureReasons (free text in events before codes)
	// Note is the optional free-text note, kept in the event's erasable
	// personal part under a subject of its own (it may name a person).
	Note domain.Person `json:"-"`
}

func (Left) EventName() string { return "locality.left.v1" }

// PersonalData returns the note's personal part.
func (e *Left) PersonalData() *domain.Person { return &e.Note }

// CoordinatorAssigned records that a person became the locally responsible
// person of one side. Person is personal data, stored apart from the event.
type CoordinatorAssigned struct {
	Side   Side          `json:"side"`
	Person domain.Person `json:"-"`
	On     domain.Date   `json:"on"`
}

func (CoordinatorAssigned) EventName() string { return "locality.coordinator_assigned.v1" }

// PersonalData returns the coordinator, stored apart from the event.
func (e *CoordinatorAssigned) PersonalData() *domain.Person { return &e.Person }

// FeedbackMeetingHeld records one of the locality's (at least) yearly
// feedback meetings.
type FeedbackMeetingHeld struct {
	HeldOn       domain.Date `json:"heldOn"`
	Participants int         `json:"participants"`
}

func (FeedbackMeetingHeld) EventName() string { return "locality.feedback_meeting_held.v1" }

// DepartureReasons are the published reason codes of a locality leaving.
var DepartureReasons = []string{"council_decision", "merged", "funding_ended", "other"}
