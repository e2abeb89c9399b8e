package partner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
)

// ID names a partner ("espoo-sos-1").
type ID string

// ParseID checks that s is a slug (domain.IsSlug) and returns it as an ID,
// or a *domain.Invalid with code "invalid_id".
func ParseID(s string) (ID, error) {
	if err := domain.CheckID("id", s, "invalid_id"); err != nil {
		return "", err
	}
	return ID(s), nil
}

// Stream returns the partner's stream id.
func Stream(id ID) domain.StreamID { return domain.NewStreamID("partner", string(id)) }

// Kind tells issuers from venues.
type Kind string

const (
	KindIssuer Kind = "issuer"
	KindVenue  Kind = "venue"
)

// Category is an issuer's sector or a venue's use category.
type Category string

// Issuer categories.
const (
	CategorySocial    Category = "social"
	CategoryHealth    Category = "health"
	CategoryWellbeing Category = "wellbeing"
	CategoryNGO       Category = "ngo"
)

// Venue categories (the use categories of the 2022 guideline).
const (
	CategoryCulture   Category = "culture"
	CategoryEducation Category = "education"
	CategoryScience   Category = "science"
	CategorySport     Category = "sport"
)

// Categories lists the categories valid for each kind.
var Categories = map[Kind][]Category{
	KindIssuer: {CategorySocial, CategoryHealth, CategoryWellbeing, CategoryNGO},
	KindVenue:  {CategoryCulture, CategoryEducation, CategoryScience, CategorySport},
}

// Via is how a guideline commitment was made.
type Via string

const (
	ViaAgreement Via = "agreement"
	ViaBrochure  Via = "brochure"
	ViaWebsite   Via = "website"
	ViaRegister  Via = "register"
)

// Rule violations of the partner aggregate.
var (
	ErrAlreadyJoined     = &domain.Violation{Code: "partner_exists", Message: "the partner has already joined"}
	ErrNotJoined         = &domain.Violation{Code: "partner_not_joined", Message: "no such partner"}
	ErrLeft              = &domain.Violation{Code: "partner_left", Message: "the partner has left the network"}
	ErrNotAnIssuer       = &domain.Violation{Code: "not_an_issuer", Message: "only issuers are approved"}
	ErrAlreadyApproved   = &domain.Violation{Code: "issuer_already_approved", Message: "the issuer was already approved"}
	ErrAlreadyCommitted  = &domain.Violation{Code: "already_committed", Message: "the partner already committed to this guideline version"}
	ErrBeforeJoining     = &domain.Violation{Code: "before_joining", Message: "the date is before the partner joined"}
	ErrBeforeAdoption    = &domain.Violation{Code: "commitment_before_adoption", Message: "the guideline version was not adopted yet on that date"}
	ErrLocalityUnknown   = &domain.Violation{Code: "locality_not_registered", Message: "no such locality"}
	ErrLocalityNotMember = &domain.Violation{Code: "locality_not_in_network", Message: "the locality is not in the network on that date"}
)

// Commitment is one guideline commitment.
type Commitment struct {
	GuidelineVersion guideline.Version
	Via              Via
	On               domain.Date
}

// Facts is what other aggregates need to know of a partner, as a plain
// value. The zero Facts is a partner that does not exist.
type Facts struct {
	ID          ID
	Locality    locality.ID
	Kind        Kind
	Category    Category
	JoinedOn    domain.Date
	ApprovedOn  domain.Date // zero until approved (issuers only)
	LeftOn      domain.Date // zero while in the network
	Commitments []Commitment
}

// Exists reports whether the partner joined.
func (f Facts) Exists() bool { return f.ID != "" }

// ActiveOn reports whether the partner is in the network on d: it joined
// on or before d and had not left by d.
func (f Facts) ActiveOn(d domain.Date) bool {
	return f.Exists() && d.OnOrAfter(f.JoinedOn) && (f.LeftOn.IsZero() || d.Before(f.LeftOn))
}

// LeftBy reports whether the partner had left on or before d.
func (f Facts) LeftBy(d domain.Date) bool { return !f.LeftOn.IsZero() && f.LeftOn.OnOrBefore(d) }

// ApprovedBy reports whether the issuer was approved on or before d.
func (f Facts) ApprovedBy(d domain.Date) bool {
	return !f.ApprovedOn.IsZero() && f.ApprovedOn.OnOrBefore(d)
}

// CommittedBy reports whether the partner had committed to some guideline
// version on or before d.
func (f Facts) CommittedBy(d domain.Date) bool {
	for _, c := range f.Commitments {
		if c.On.OnOrBefore(d) {
			return true
		}
	}
	return false
}

// Partner is the partner aggregate.
type Partner struct {
	f        Facts
	name     string
	contact  domain.Person
	contacts int // contact persons so far; numbers their erasure subjects
	changes  []domain.Event
}

// Load rebuilds a partner from its stream's events; no events give a
// partner that has not joined.
func Load(events []domain.Event) *Partner {
	p := &Partner{}
	for _, e := range events {
		p.apply(e)
	}
	return p
}

// Changes returns the events raised since Load, in order.
func (p *Partner) Changes() []domain.Event { return p.changes }

// Exists reports whether the partner joined.
func (p *Partner) Exists() bool { return p.f.Exists() }

// Facts returns the plain facts other aggregates check against.
func (p *Partner) Facts() Facts {
	f := p.f
	f.Commitments = slices.Clone(f.Commitments)
	return f
}

// ID returns the partner's id.
func (p *Partner) ID() ID { return p.f.ID }

// Name returns the partner's name.
func (p *Partner) Name() string { return p.name }

// Contact returns the current contact person.
func (p *Partner) Contact() domain.Person { return p.contact }

// Join makes the partner described by j a member of its locality. loc are
// the facts of j.Locality. It returns ErrAlreadyJoined,
// ErrLocalityUnknown, ErrLocalityNotMember (on j.JoinedOn), or a
// *domain.Invalid for a malformed id, name, kind, category, missing
// contact or date. The contact gets the erasure subject
// "contact:<partner>:1".
func (p *Partner) Join(j Joined, loc locality.Facts) error {
	if p.Exists() {
		return ErrAlreadyJoined
	}
	if _, err := ParseID(string(j.ID)); err != nil {
		return err
	}
	j.Name = strings.TrimSpace(j.Name)
	switch {
	case j.Name == "":
		return domain.Invalidf("missing_field", "name", "is required")
	case j.Kind != KindIssuer && j.Kind != KindVenue:
		return domain.Invalidf("invalid_kind", "kind", "%q is not issuer or venue", j.Kind)
	case !slices.Contains(Categories[j.Kind], j.Category):
		return domain.Invalidf("invalid_category", "category", "%q is not a category of an %s (%v)", j.Category, j.Kind, Categories[j.Kind])
	case j.JoinedOn.IsZero():
		return domain.Invalidf("missing_date", "joinedOn", "is required")
	}
	c, err := cleanContact(j.Contact, "contact")
	if err != nil {
		return err
	}
	switch {
	case !loc.Exists() || loc.ID != j.Locality:
		return domain.Violationf(ErrLocalityUnknown.Code, "locality %q is not registered", j.Locality)
	case !loc.InNetworkOn(j.JoinedOn):
		return domain.Violationf(ErrLocalityNotMember.Code, "locality %q is not in the network on %s", j.Locality, j.JoinedOn)
	}
	c.Subject = contactSubject(j.ID, 1)
	j.Contact = c
	p.raise(j)
	return nil
}

// ApproveIssuer records Kaikukeskus's approval of an issuer from on. It
// returns ErrNotJoined, ErrLeft, ErrNotAnIssuer, ErrAlreadyApproved or
// ErrBeforeJoining.
func (p *Partner) ApproveIssuer(on domain.Date) error {
	if err := p.active(on); err != nil {
		return err
	}
	switch {
	case p.f.Kind != KindIssuer:
		return domain.Violationf(ErrNotAnIssuer.Code, "%q is a venue; only issuers are approved", p.f.ID)
	case !p.f.ApprovedOn.IsZero():
		return domain.Violationf(ErrAlreadyApproved.Code, "the issuer was already approved on %s", p.f.ApprovedOn)
	}
	p.raise(IssuerApproved{On: on})
	return nil
}

// ChangeContact replaces the contact person from on; it never leaves the
// partner without one. It returns ErrNotJoined, ErrLeft, ErrBeforeJoining,
// or a *domain.Invalid ("contact_required") when c has no name.
func (p *Partner) ChangeContact(c domain.Person, on domain.Date) error {
	if err := p.active(on); err != nil {
		return err
	}
	c, err := cleanContact(c, "")
	if err != nil {
		return err
	}
	c.Subject = contactSubject(p.f.ID, p.contacts+1)
	p.raise(ContactChanged{Contact: c, On: on})
	return nil
}

// CommitToGuideline records the partner's commitment to version v, made
// via via on on. v is the guideline version as adopted, or the zero
// Revised when the caller found no such version. It returns ErrNotJoined,
// ErrLeft, ErrBeforeJoining, guideline.ErrUnknownVersion,
// ErrBeforeAdoption, ErrAlreadyCommitted, or a *domain.Invalid for a bad
// via.
func (p *Partner) CommitToGuideline(v guideline.Revised, via Via, on domain.Date) error {
	if err := p.active(on); err != nil {
		return err
	}
	switch via {
	case ViaAgreement, ViaBrochure, ViaWebsite, ViaRegister:
	default:
		return domain.Invalidf("invalid_via", "via", "%q is not agreement, brochure, website or register", via)
	}
	if v.Version == "" {
		return guideline.ErrUnknownVersion
	}
	if on.Before(v.AdoptedOn) {
		return domain.Violationf(ErrBeforeAdoption.Code, "guideline %q was adopted on %s, after %s", v.Version, v.AdoptedOn, on)
	}
	for _, c := range p.f.Commitments {
		if c.GuidelineVersion == v.Version {
			return domain.Violationf(ErrAlreadyCommitted.Code, "the partner committed to guideline %q on %s", v.Version, c.On)
		}
	}
	p.raise(GuidelineCommitted{GuidelineVersion: v.Version, Via: via, On: on})
	return nil
}

// Leave records that the partner leaves on on; from then on it only
// answers reads. It returns ErrNotJoined, ErrLeft or ErrBeforeJoining.
func (p *Partner) Leave(on domain.Date, reason string, note domain.Person) error {
	if err := p.active(on); err != nil {
		return err
	}
	p.raise(Left{On: on, Reason: reason, Note: note})
	return nil
}

// active checks that the partner exists and has not left (whatever the
// date: after leaving, nothing changes any more), and that on is not
// before it joined.
func (p *Partner) active(on domain.Date) error {
	switch {
	case !p.Exists():
		return ErrNotJoined
	case !p.f.LeftOn.IsZero():
		return domain.Violationf(ErrLeft.Code, "the partner left on %s", p.f.LeftOn)
	case on.Before(p.f.JoinedOn):
		return domain.Violationf(ErrBeforeJoining.Code, "%s is before the partner joined on %s", on, p.f.JoinedOn)
	}
	return nil
}

func (p *Partner) raise(e domain.Event) {
	p.apply(e)
	p.changes = append(p.changes, e)
}

func (p *Partner) apply(e domain.Event) {
	switch e := e.(type) {
	case Joined:
		p.f = Facts{ID: e.ID, Locality: e.Locality, Kind: e.Kind, Category: e.Category, JoinedOn: e.JoinedOn}
		p.name, p.contact, p.contacts = e.Name, e.Contact, 1
	case IssuerApproved:
		p.f.ApprovedOn = e.On
	case ContactChanged:
		p.contact = e.Contact
		p.contacts++
	case GuidelineCommitted:
		p.f.Commitments = append(p.f.Commitments, Commitment{GuidelineVersion: e.GuidelineVersion, Via: e.Via, On: e.On})
	case Left:
		p.f.LeftOn = e.On
	}
}

func cleanContact(c domain.Person, field string) (domain.Person, error) {
	c.Name, c.Email, c.Phone = strings.TrimSpace(c.Name), strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone)
	if c.Name == "" {
		f := "name"
		if field != "" {
			f = field + ".name"
		}
		return c, domain.Invalidf("contact_required", f, "a partner always has a contact person with a name")
	}
	return c, nil
}

func contactSubject(id ID, n int) string { return fmt.Sprintf("contact:%s:%d", id, n) }
