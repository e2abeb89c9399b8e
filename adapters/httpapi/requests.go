package httpapi

import (
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// The request bodies of the command routes. They are the API's own types:
// the JSON names, which fields are required (`required:"true"`) and the
// schema in /openapi.json come from here, and each maps to its domain
// command, which judges the values (see domain/command's checks). Path
// ids are set by the route, never read from the body.

type registerLocalityRequest struct {
	ID              string           `json:"id" required:"true"`
	Name            string           `json:"name" required:"true"`
	Municipalities  []string         `json:"municipalities" required:"true"`
	WellbeingCounty string           `json:"wellbeingCounty,omitempty"`
	Scope           locality.Scope   `json:"scope" required:"true"`
	JoinedOn        domain.Date      `json:"joinedOn"`
	Pilot           *locality.Period `json:"pilot,omitempty"`
}

func (r registerLocalityRequest) command() command.RegisterLocality {
	return command.RegisterLocality{ID: locality.ID(r.ID), Name: r.Name, Municipalities: r.Municipalities,
		WellbeingCounty: r.WellbeingCounty, Scope: r.Scope, JoinedOn: r.JoinedOn, Pilot: r.Pilot}
}

type onRequest struct {
	On domain.Date `json:"on"`
}

type leaveRequest struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"`
	Note   string      `json:"note,omitempty"`
}

type coordinatorRequest struct {
	Side  locality.Side `json:"side" required:"true"`
	Name  string        `json:"name" required:"true"`
	Email string        `json:"email,omitempty"`
	Phone string        `json:"phone,omitempty"`
	On    domain.Date   `json:"on"`
}

type feedbackMeetingRequest struct {
	HeldOn       domain.Date `json:"heldOn"`
	Participants int         `json:"participants" required:"true"`
}

type contactRequest struct {
	Name  string `json:"name" required:"true"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

type joinPartnerRequest struct {
	ID       string           `json:"id" required:"true"`
	Locality string           `json:"locality" required:"true"`
	Name     string           `json:"name" required:"true"`
	Kind     partner.Kind     `json:"kind" required:"true"`
	Category partner.Category `json:"category" required:"true"`
	Contact  contactRequest   `json:"contact" required:"true"`
	JoinedOn domain.Date      `json:"joinedOn"`
}

func (r joinPartnerRequest) command() command.JoinPartner {
	return command.JoinPartner{ID: partner.ID(r.ID), Locality: locality.ID(r.Locality), Name: r.Name, Kind: r.Kind,
		Category: r.Category, Contact: domain.Person{Name: r.Contact.Name, Email: r.Contact.Email, Phone: r.Contact.Phone},
		JoinedOn: r.JoinedOn}
}

type changeContactRequest struct {
	Name  string      `json:"name" required:"true"`
	Email string      `json:"email,omitempty"`
	Phone string      `json:"phone,omitempty"`
	On    domain.Date `json:"on"`
}

type commitmentRequest struct {
	GuidelineVersion string      `json:"guidelineVersion" required:"true"`
	Via              partner.Via `json:"via" required:"true"`
	On               domain.Date `json:"on"`
}

type signAgreementRequest struct {
	ID              string         `json:"id" required:"true"`
	Locality        string         `json:"locality" required:"true"`
	Partner         string         `json:"partner" required:"true"`
	Kind            agreement.Kind `json:"kind" required:"true"`
	TemplateVersion string         `json:"templateVersion" required:"true"`
	ValidFrom       domain.Date    `json:"validFrom" required:"true"`
	ValidUntil      domain.Date    `json:"validUntil" required:"true"`
}

func (r signAgreementRequest) command() command.SignAgreement {
	return command.SignAgreement{ID: agreement.ID(r.ID), Locality: locality.ID(r.Locality), Partner: partner.ID(r.Partner),
		Kind: r.Kind, TemplateVersion: r.TemplateVersion, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil}
}

type amendAgreementRequest struct {
	On         domain.Date `json:"on"`
	ValidUntil domain.Date `json:"validUntil" required:"true"`
	Reason     string      `json:"reason,omitempty"`
	Note       string      `json:"note,omitempty"`
}

type reviseGuidelineRequest struct {
	Version       string         `json:"version" required:"true"`
	AdoptedOn     domain.Date    `json:"adoptedOn"`
	EffectiveFrom domain.Date    `json:"effectiveFrom" required:"true"`
	Rules         guidelineRules `json:"rules" required:"true"`
}

// guidelineRules is the request shape of guideline.Rules: every rule is
// required, so that a version never silently gets a zero rule.
type guidelineRules struct {
	MinHolderAge           int      `json:"minHolderAge" required:"true"`
	CardValidityMonths     int      `json:"cardValidityMonths" required:"true"`
	ChildTicketMaxAge      int      `json:"childTicketMaxAge" required:"true"`
	ChildTicketsForCourses bool     `json:"childTicketsForCourses" required:"true"`
	SmallCellThreshold     int      `json:"smallCellThreshold" required:"true"`
	Categories             []string `json:"categories" required:"true"`
	AgeBands               []int    `json:"ageBands" required:"true"`
}

func (r reviseGuidelineRequest) command() command.ReviseGuideline {
	return command.ReviseGuideline{Version: guideline.Version(r.Version), AdoptedOn: r.AdoptedOn, EffectiveFrom: r.EffectiveFrom,
		Rules: guideline.Rules{MinHolderAge: r.Rules.MinHolderAge, CardValidityMonths: r.Rules.CardValidityMonths,
			ChildTicketMaxAge: r.Rules.ChildTicketMaxAge, ChildTicketsForCourses: r.Rules.ChildTicketsForCourses,
			SmallCellThreshold: r.Rules.SmallCellThreshold, Categories: r.Rules.Categories, AgeBands: r.Rules.AgeBands}}
}

// holderRequest is everything an issuer may send about a cardholder. There
// is no field for a name, identity code, birth date or address.
type holderRequest struct {
	BirthYear     int    `json:"birthYear"`
	PostalCode    string `json:"postalCode" required:"true"`
	MinorChildren *int   `json:"minorChildren" required:"true"`
	LifeSituation string `json:"lifeSituation,omitempty"`
	Gender        string `json:"gender,omitempty"`
}

type issueCardRequest struct {
	ID       string        `json:"id" required:"true"`
	Issuer   string        `json:"issuer,omitempty"`
	IssuedOn domain.Date   `json:"issuedOn"`
	Kind     card.Kind     `json:"kind" required:"true"`
	Holder   holderRequest `json:"holder" required:"true"`
}

func (r issueCardRequest) command() command.IssueCard {
	h := card.Holder{BirthYear: r.Holder.BirthYear, PostalCode: r.Holder.PostalCode,
		LifeSituation: r.Holder.LifeSituation, Gender: r.Holder.Gender}
	if r.Holder.MinorChildren != nil {
		h.MinorChildren = *r.Holder.MinorChildren
	}
	return command.IssueCard{ID: card.ID(r.ID), Issuer: partner.ID(r.Issuer), IssuedOn: r.IssuedOn, Kind: r.Kind, Holder: h}
}

type replaceCardRequest struct {
	NewCardID string      `json:"newCardId" required:"true"`
	On        domain.Date `json:"on"`
}

type correctCardRequest struct {
	On            domain.Date `json:"on"`
	MinorChildren *int        `json:"minorChildren,omitempty"`
	PostalCode    *string     `json:"postalCode,omitempty"`
	LifeSituation *string     `json:"lifeSituation,omitempty"`
	Gender        *string     `json:"gender,omitempty"`
	BirthYear     *int        `json:"birthYear,omitempty"`
}

type recordUseRequest struct {
	ID           string       `json:"id,omitempty"`
	Venue        string       `json:"venue,omitempty"`
	UsedOn       domain.Date  `json:"usedOn"`
	Category     string       `json:"category,omitempty"`
	Kind         card.UseKind `json:"kind,omitempty"`
	ChildTickets int          `json:"childTickets"`
	Assistant    bool         `json:"assistant"`
}

func (r recordUseRequest) command() command.RecordUse {
	return command.RecordUse{ID: card.UseID(r.ID), Venue: partner.ID(r.Venue), UsedOn: r.UsedOn, Category: r.Category,
		Kind: r.Kind, ChildTickets: r.ChildTickets, Assistant: r.Assistant}
}

type cancelUseRequest struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"`
	Note   string      `json:"note,omitempty"`
}
