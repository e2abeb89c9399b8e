package locality

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kaiku/kaiku/domain"
)

// ID names a locality ("espoo").
type ID string

// ParseID checks that s is a slug (domain.IsSlug) and returns it as an ID,
// or a *domain.Invalid with code "invalid_id".
func ParseID(s string) (ID, error) {
	if err := domain.CheckID("id", s, "invalid_id"); err != nil {
		return "", err
	}
	return ID(s), nil
}

// Stream returns the locality's stream id.
func Stream(id ID) domain.StreamID { return domain.NewStreamID("locality", string(id)) }

// Scope is where a locality's cards are valid.
type Scope string

const (
	// ScopeNational cards are valid at every participating venue.
	ScopeNational Scope = "national"
	// ScopeLocal cards are valid only at the locality's own venues.
	ScopeLocal Scope = "local"
)

// Side is the side of the network a coordinator is responsible for.
type Side string

const (
	SideCulture Side = "culture"
	SideSocial  Side = "social"
)

// Period is an inclusive range of dates.
type Period struct {
	From  domain.Date `json:"from"`
	Until domain.Date `json:"until"`
}

// Contains reports whether From <= d <= Until.
func (p Period) Contains(d domain.Date) bool { return d.OnOrAfter(p.From) && d.OnOrBefore(p.Until) }

// Rule violations of the locality aggregate.
var (
	ErrAlreadyRegistered  = &domain.Violation{Code: "locality_exists", Message: "the locality is already registered"}
	ErrLeft               = &domain.Violation{Code: "locality_left", Message: "the locality has left the network"}
	ErrNoPilot            = &domain.Violation{Code: "locality_has_no_pilot", Message: "the locality was registered without a pilot"}
	ErrPilotConcluded     = &domain.Violation{Code: "pilot_already_concluded", Message: "the pilot was already concluded"}
	ErrBeforeJoining      = &domain.Violation{Code: "before_joining", Message: "the date is before the locality joined the network"}
	ErrNotRegistered      = &domain.Violation{Code: "locality_not_registered", Message: "no such locality"}
	ErrNotInNetwork       = &domain.Violation{Code: "locality_not_in_network", Message: "the locality is not in the network on that date"}
	ErrPilotNotYetStarted = &domain.Violation{Code: "pilot_not_started", Message: "the pilot had not started on that date"}
)

// Facts is what other aggregates need to know of a locality, as a plain
// value: the command layer reads it from the locality's stream and passes
// it into their methods. The zero Facts is a locality that does not exist.
type Facts struct {
	ID               ID
	Municipalities   []string
	Scope            Scope
	JoinedOn         domain.Date
	Pilot            *Period
	PilotConcludedOn domain.Date // zero while the pilot runs
	LeftOn           domain.Date // zero while in the network
}

// Exists reports whether the locality was registered.
func (f Facts) Exists() bool { return f.ID != "" }

// InNetworkOn reports whether the locality is a member on d: it joined on
// or before d and had not left by d.
func (f Facts) InNetworkOn(d domain.Date) bool {
	return f.Exists() && d.OnOrAfter(f.JoinedOn) && (f.LeftOn.IsZero() || d.Before(f.LeftOn))
}

// ScopeAt returns the locality's card scope on d ("" when the locality is
// not in the network on d).
func (f Facts) ScopeAt(d domain.Date) Scope {
	if !f.InNetworkOn(d) {
		return ""
	}
	return f.Scope
}

// PilotEnd returns the last day of the pilot: the planned Until, or the
// day before an earlier conclusion. It is zero without a pilot.
func (f Facts) PilotEnd() domain.Date {
	if f.Pilot == nil {
		return domain.Date{}
	}
	end := f.Pilot.Until
	if !f.PilotConcludedOn.IsZero() {
		end = domain.MinDate(end, f.PilotConcludedOn.AddDays(-1))
	}
	return end
}

// IsPilotOn reports whether d falls within the pilot.
func (f Facts) IsPilotOn(d domain.Date) bool {
	return f.Pilot != nil && d.OnOrAfter(f.Pilot.From) && d.OnOrBefore(f.PilotEnd())
}

// Coordinator is a locally responsible person of one side.
type Coordinator struct {
	Side   Side
	Person domain.Person
	Since  domain.Date
}

// Locality is the locality aggregate.
type Locality struct {
	f               Facts
	name            string
	county          string
	coordinators    map[Side]Coordinator
	assignedCount   int
	meetings        []FeedbackMeetingHeld
	lastMeetingDate domain.Date
	changes         []domain.Event
}

// Load rebuilds a locality from its stream's events; no events give a
// locality that does not exist yet.
func Load(events []domain.Event) *Locality {
	l := &Locality{coordinators: map[Side]Coordinator{}}
	for _, e := range events {
		l.apply(e)
	}
	return l
}

// Changes returns the events raised since Load, in order.
func (l *Locality) Changes() []domain.Event { return l.changes }

// Exists reports whether the locality was registered.
func (l *Locality) Exists() bool { return l.f.Exists() }

// Facts returns the plain facts other aggregates check against.
func (l *Locality) Facts() Facts {
	f := l.f
	f.Municipalities = slices.Clone(f.Municipalities)
	if f.Pilot != nil {
		p := *f.Pilot
		f.Pilot = &p
	}
	return f
}

// ID returns the locality's id.
func (l *Locality) ID() ID { return l.f.ID }

// Name returns the locality's name.
func (l *Locality) Name() string { return l.name }

// WellbeingCounty returns the wellbeing services county, or "".
func (l *Locality) WellbeingCounty() string { return l.county }

// ScopeAt returns the card scope on d; see Facts.ScopeAt.
func (l *Locality) ScopeAt(d domain.Date) Scope { return l.f.ScopeAt(d) }

// InNetworkOn reports membership on d; see Facts.InNetworkOn.
func (l *Locality) InNetworkOn(d domain.Date) bool { return l.f.InNetworkOn(d) }

// IsPilotOn reports whether d falls within the pilot; see Facts.IsPilotOn.
func (l *Locality) IsPilotOn(d domain.Date) bool { return l.f.IsPilotOn(d) }

// LastFeedbackMeeting returns the date of the latest feedback meeting, or
// the zero date when none was held.
func (l *Locality) LastFeedbackMeeting() domain.Date { return l.lastMeetingDate }

// Coordinators returns the current coordinator of each side that has one.
func (l *Locality) Coordinators() []Coordinator {
	var out []Coordinator
	for _, s := range []Side{SideCulture, SideSocial} {
		if c, ok := l.coordinators[s]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Register registers the locality described by r. It returns
// ErrAlreadyRegistered when the locality exists and a *domain.Invalid for a
// malformed id, name, municipality code, scope or dates.
func (l *Locality) Register(r Registered) error {
	if l.Exists() {
		return ErrAlreadyRegistered
	}
	if _, err := ParseID(string(r.ID)); err != nil {
		return err
	}
	r.Name = strings.TrimSpace(r.Name)
	r.WellbeingCounty = strings.TrimSpace(r.WellbeingCounty)
	switch {
	case r.Name == "":
		return domain.Invalidf("missing_field", "name", "is required")
	case len(r.Municipalities) == 0:
		return domain.Invalidf("missing_field", "municipalities", "name at least one municipality code")
	case r.Scope != ScopeNational && r.Scope != ScopeLocal:
		return domain.Invalidf("invalid_scope", "scope", "%q is not national or local", r.Scope)
	case r.JoinedOn.IsZero():
		return domain.Invalidf("missing_date", "joinedOn", "is required")
	}
	seen := map[string]bool{}
	for _, m := range r.Municipalities {
		if !isMunicipalityCode(m) {
			return domain.Invalidf("invalid_municipality", "municipalities", "%q is not a 3-digit Statistics Finland municipality code", m)
		}
		if seen[m] {
			return domain.Invalidf("invalid_municipality", "municipalities", "%q is listed twice", m)
		}
		seen[m] = true
	}
	if r.Pilot != nil {
		p := *r.Pilot
		switch {
		case p.From.IsZero() || p.Until.IsZero():
			return domain.Invalidf("missing_date", "pilot", "a pilot needs from and until")
		case p.Until.Before(p.From):
			return domain.Invalidf("invalid_period", "pilot", "until %s is before from %s", p.Until, p.From)
		case p.From.Before(r.JoinedOn):
			return domain.Invalidf("invalid_period", "pilot", "the pilot starts on %s, before the locality joins on %s", p.From, r.JoinedOn)
		}
		r.Pilot = &p
	}
	r.Municipalities = slices.Clone(r.Municipalities)
	l.raise(r)
	return nil
}

// ConcludePilot ends the pilot on on (its first day as an established
// member). It returns ErrNotRegistered, ErrLeft, ErrNoPilot,
// ErrPilotConcluded, or ErrPilotNotYetStarted when on is before the pilot
// began.
func (l *Locality) ConcludePilot(on domain.Date) error {
	switch {
	case !l.Exists():
		return ErrNotRegistered
	case !l.f.LeftOn.IsZero():
		return ErrLeft
	case l.f.Pilot == nil:
		return ErrNoPilot
	case !l.f.PilotConcludedOn.IsZero():
		return domain.Violationf(ErrPilotConcluded.Code, "the pilot was already concluded on %s", l.f.PilotConcludedOn)
	case on.OnOrBefore(l.f.Pilot.From):
		return domain.Violationf(ErrPilotNotYetStarted.Code, "the pilot starts on %s; it can be concluded from the day after", l.f.Pilot.From)
	}
	l.raise(PilotConcluded{On: on})
	return nil
}

// Leave records that the locality leaves the network on on. It returns
// ErrNotRegistered, ErrLeft when it already left, or ErrBeforeJoining.
func (l *Locality) Leave(on domain.Date, reason string, note domain.Person) error {
	if err := l.active(on); err != nil {
		return err
	}
	l.raise(Left{On: on, Reason: reason, Note: note})
	return nil
}

// AssignCoordinator makes p the coordinator of side from on, replacing
// the previous one. The person gets a stable erasure subject
// ("coordinator:<locality>:<n>"). It returns ErrNotRegistered, ErrLeft,
// ErrBeforeJoining, or a *domain.Invalid for a bad side or a missing name.
func (l *Locality) AssignCoordinator(side Side, p domain.Person, on domain.Date) error {
	if err := l.active(on); err != nil {
		return err
	}
	if side != SideCulture && side != SideSocial {
		return domain.Invalidf("invalid_side", "side", "%q is not culture or social", side)
	}
	if p.Name = strings.TrimSpace(p.Name); p.Name == "" {
		return domain.Invalidf("missing_field", "name", "a coordinator needs a name")
	}
	p.Email, p.Phone = strings.TrimSpace(p.Email), strings.TrimSpace(p.Phone)
	p.Subject = fmt.Sprintf("coordinator:%s:%d", l.f.ID, l.assignedCount+1)
	l.raise(CoordinatorAssigned{Side: side, Person: p, On: on})
	return nil
}

// HoldFeedbackMeeting records a feedback meeting held on heldOn. It returns
// ErrNotRegistered, ErrLeft, ErrBeforeJoining, or a *domain.Invalid for a
// negative participant count.
func (l *Locality) HoldFeedbackMeeting(heldOn domain.Date, participants int) error {
	if err := l.active(heldOn); err != nil {
		return err
	}
	if participants < 0 {
		return domain.Invalidf("invalid_participants", "participants", "must not be negative")
	}
	l.raise(FeedbackMeetingHeld{HeldOn: heldOn, Participants: participants})
	return nil
}

// active checks that the locality exists, has not left, and had joined
// by on.
func (l *Locality) active(on domain.Date) error {
	switch {
	case !l.Exists():
		return ErrNotRegistered
	case !l.f.LeftOn.IsZero():
		return domain.Violationf(ErrLeft.Code, "the locality left the network on %s", l.f.LeftOn)
	case on.Before(l.f.JoinedOn):
		return domain.Violationf(ErrBeforeJoining.Code, "%s is before the locality joined on %s", on, l.f.JoinedOn)
	}
	return nil
}

func (l *Locality) raise(e domain.Event) {
	l.apply(e)
	l.changes = append(l.changes, e)
}

func (l *Locality) apply(e domain.Event) {
	switch e := e.(type) {
	case Registered:
		l.f = Facts{ID: e.ID, Municipalities: e.Municipalities, Scope: e.Scope, JoinedOn: e.JoinedOn, Pilot: e.Pilot}
		l.name, l.county = e.Name, e.WellbeingCounty
	case PilotConcluded:
		l.f.PilotConcludedOn = e.On
	case Left:
		l.f.LeftOn = e.On
	case CoordinatorAssigned:
		l.assignedCount++
		l.coordinators[e.Side] = Coordinator{Side: e.Side, Person: e.Person, Since: e.On}
	case FeedbackMeetingHeld:
		l.meetings = append(l.meetings, e)
		l.lastMeetingDate = domain.MaxDate(l.lastMeetingDate, e.HeldOn)
	}
}

func isMunicipalityCode(s string) bool {
	return len(s) == 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}
