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
	ID              string           `json:"id" required:"true" pattern:"id" doc:"The locality's id, chosen by Kaikukeskus." example:"espoo"`
	Name            string           `json:"name" required:"true" maxLength:"200" doc:"The locality's name." example:"Espoo"`
	Municipalities  []string         `json:"municipalities" required:"true" doc:"Statistics Finland codes of its municipalities (three digits)." example:"049"`
	WellbeingCounty string           `json:"wellbeingCounty,omitempty" maxLength:"200" doc:"The wellbeing services county, if one takes part." example:"Länsi-Uudenmaan hyvinvointialue"`
	Scope           locality.Scope   `json:"scope" required:"true" doc:"Where its cards are valid: at every participating venue (national) or at its own venues only (local)." example:"national"`
	JoinedOn        domain.Date      `json:"joinedOn" doc:"The first day in the network; today when left out." example:"2024-01-01"`
	Pilot           *locality.Period `json:"pilot,omitempty" doc:"The pilot period, when the locality joins as a pilot."`
}

func (r registerLocalityRequest) command() command.RegisterLocality {
	return command.RegisterLocality{ID: locality.ID(r.ID), Name: r.Name, Municipalities: r.Municipalities,
		WellbeingCounty: r.WellbeingCounty, Scope: r.Scope, JoinedOn: r.JoinedOn, Pilot: r.Pilot}
}

type onRequest struct {
	On domain.Date `json:"on" doc:"The business date it takes effect; today when left out." example:"2024-06-01"`
}

// The requests that end something carry a reason code from the route's
// own published list and an optional note (kept in the event's erasable
// personal part).

type leaveLocalityRequest struct {
	On     domain.Date `json:"on" doc:"The locality's first day out of the network; today when left out." example:"2025-06-30"`
	Reason string      `json:"reason,omitempty" enum:"localityDeparture" doc:"Why the locality leaves." example:"council_decision"`
	Note   string      `json:"note,omitempty" doc:"Optional free text, at most 1,000 characters; erasable. Never a cardholder's data." example:"Decided by the council on 2025-05-12."`
}

type leavePartnerRequest struct {
	On     domain.Date `json:"on" doc:"The partner's first day out of the network; today when left out." example:"2025-06-30"`
	Reason string      `json:"reason,omitempty" enum:"partnerDeparture" doc:"Why the partner leaves." example:"closed"`
	Note   string      `json:"note,omitempty" doc:"Optional free text, at most 1,000 characters; erasable. Never a cardholder's data." example:"The museum closes for renovation."`
}

type terminateAgreementRequest struct {
	On     domain.Date `json:"on" doc:"The agreement's first day out of force; today when left out." example:"2025-06-30"`
	Reason string      `json:"reason,omitempty" enum:"termination" doc:"Why the agreement ends." example:"mutual_agreement"`
	Note   string      `json:"note,omitempty" doc:"Optional free text, at most 1,000 characters; erasable." example:"Replaced by the network agreement of 2025."`
}

type cancelCardRequest struct {
	On     domain.Date `json:"on" doc:"The first day the card is cancelled; today when left out." example:"2024-06-01"`
	Reason string      `json:"reason,omitempty" enum:"cardCancellation" doc:"Why the card is cancelled." example:"moved_away"`
	Note   string      `json:"note,omitempty" doc:"Optional free text, at most 1,000 characters; erasable. Never the holder's data." example:"Asked at the office."`
}

type coordinatorRequest struct {
	Side  locality.Side `json:"side" required:"true" doc:"The side of the network the person is responsible for." example:"culture"`
	Name  string        `json:"name" required:"true" maxLength:"200" doc:"The person's name (erasable personal data)." example:"Cilla Koordinaattori"`
	Email string        `json:"email,omitempty" format:"email" doc:"The person's work e-mail (erasable personal data)." example:"cilla@espoo.fi"`
	Phone string        `json:"phone,omitempty" doc:"The person's work phone (erasable personal data)." example:"+358 9 816 21"`
	On    domain.Date   `json:"on" doc:"The first day of the assignment; today when left out." example:"2024-01-10"`
}

type feedbackMeetingRequest struct {
	HeldOn       domain.Date `json:"heldOn" doc:"The day of the meeting; today when left out." example:"2024-05-02"`
	Participants int         `json:"participants" required:"true" minimum:"1" maximum:"10000" doc:"How many took part." example:"14"`
}

type contactRequest struct {
	Name  string `json:"name" required:"true" maxLength:"200" doc:"The contact person's name (erasable personal data)." example:"Anna Virtanen"`
	Email string `json:"email,omitempty" format:"email" doc:"The contact person's work e-mail (erasable personal data)." example:"anna.virtanen@espoo.fi"`
	Phone string `json:"phone,omitempty" doc:"The contact person's work phone (erasable personal data)." example:"+358 40 123 4567"`
}

type joinPartnerRequest struct {
	ID       string           `json:"id" required:"true" pattern:"id" doc:"The partner's id, chosen by the coordinator." example:"espoo-museum"`
	Locality string           `json:"locality" required:"true" pattern:"id" doc:"The locality it joins." example:"espoo"`
	Name     string           `json:"name" required:"true" maxLength:"200" doc:"The office's or venue's name." example:"Espoon kaupunginmuseo"`
	Kind     partner.Kind     `json:"kind" required:"true" doc:"An issuing office or a venue." example:"venue"`
	Category partner.Category `json:"category" required:"true" doc:"social, health, wellbeing or ngo for issuers; culture, education, science or sport for venues." example:"culture"`
	Contact  contactRequest   `json:"contact" required:"true" doc:"The designated contact person."`
	JoinedOn domain.Date      `json:"joinedOn" doc:"The first day in the network; today when left out." example:"2024-01-15"`
}

func (r joinPartnerRequest) command() command.JoinPartner {
	return command.JoinPartner{ID: partner.ID(r.ID), Locality: locality.ID(r.Locality), Name: r.Name, Kind: r.Kind,
		Category: r.Category, Contact: domain.Person{Name: r.Contact.Name, Email: r.Contact.Email, Phone: r.Contact.Phone},
		JoinedOn: r.JoinedOn}
}

type changeContactRequest struct {
	Name  string      `json:"name" required:"true" maxLength:"200" doc:"The new contact person's name (erasable personal data)." example:"Doris Uusi"`
	Email string      `json:"email,omitempty" format:"email" doc:"Work e-mail (erasable personal data)." example:"doris.uusi@espoo.fi"`
	Phone string      `json:"phone,omitempty" doc:"Work phone (erasable personal data)." example:"+358 40 765 4321"`
	On    domain.Date `json:"on" doc:"The first day of the new contact; today when left out." example:"2024-04-01"`
}

type commitmentRequest struct {
	GuidelineVersion string      `json:"guidelineVersion" required:"true" maxLength:"64" doc:"The guideline version committed to." example:"2022"`
	Via              partner.Via `json:"via" required:"true" doc:"How the commitment was made." example:"agreement"`
	On               domain.Date `json:"on" doc:"The day of the commitment; today when left out." example:"2024-01-15"`
}

type signAgreementRequest struct {
	ID              string         `json:"id" required:"true" pattern:"id" doc:"The agreement's id, chosen by the coordinator." example:"espoo-museum-2024"`
	Locality        string         `json:"locality" required:"true" pattern:"id" doc:"The locality signing." example:"espoo"`
	Partner         string         `json:"partner" required:"true" pattern:"id" doc:"The partner signing." example:"espoo-museum"`
	Kind            agreement.Kind `json:"kind" required:"true" doc:"A pilot agreement (for a pilot's duration) or a network agreement." example:"network"`
	TemplateVersion string         `json:"templateVersion" required:"true" maxLength:"64" doc:"The agreement template's version." example:"2022-1"`
	ValidFrom       domain.Date    `json:"validFrom" required:"true" doc:"The first day in force." example:"2024-01-01"`
	ValidUntil      domain.Date    `json:"validUntil" doc:"The last day in force; left out (null) for a network agreement valid until further notice." example:"2025-12-31"`
}

func (r signAgreementRequest) command() command.SignAgreement {
	return command.SignAgreement{ID: agreement.ID(r.ID), Locality: locality.ID(r.Locality), Partner: partner.ID(r.Partner),
		Kind: r.Kind, TemplateVersion: r.TemplateVersion, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil}
}

type amendAgreementRequest struct {
	On         domain.Date `json:"on" doc:"The day of the amendment; today when left out." example:"2024-06-01"`
	ValidUntil domain.Date `json:"validUntil" required:"true" doc:"The new last day in force." example:"2025-06-30"`
	Reason     string      `json:"reason,omitempty" enum:"amendment" doc:"Why it was amended." example:"extension"`
	Note       string      `json:"note,omitempty" doc:"Optional free text, at most 1,000 characters; erasable." example:"Pilot extended by half a year."`
}

type reviseGuidelineRequest struct {
	Version       string         `json:"version" required:"true" maxLength:"64" doc:"The version's name." example:"2022"`
	AdoptedOn     domain.Date    `json:"adoptedOn" doc:"The day Kaikukeskus adopted it; today when left out." example:"2021-12-08"`
	EffectiveFrom domain.Date    `json:"effectiveFrom" required:"true" doc:"The first day it is in force." example:"2022-01-01"`
	Rules         guidelineRules `json:"rules" required:"true" doc:"The rules the system enforces and counts by."`
}

// guidelineRules is the request shape of guideline.Rules: every rule is
// required, so that a version never silently gets a zero rule.
type guidelineRules struct {
	MinHolderAge           int      `json:"minHolderAge" required:"true" minimum:"0" maximum:"120" doc:"The youngest holder, by birth year (16: 16 or turning 16 in the year of issue)." example:"16"`
	CardValidityMonths     int      `json:"cardValidityMonths" required:"true" minimum:"1" maximum:"120" doc:"How long an issued or renewed card is valid." example:"12"`
	ChildTicketMaxAge      int      `json:"childTicketMaxAge" required:"true" minimum:"0" maximum:"25" doc:"The oldest age that still gets a free children's ticket (17: under 18)." example:"17"`
	ChildTicketsForCourses bool     `json:"childTicketsForCourses" required:"true" doc:"Whether children's tickets may be taken with a course place or season pass." example:"false"`
	SmallCellThreshold     int      `json:"smallCellThreshold" required:"true" minimum:"1" maximum:"1000" doc:"The smallest count published to anyone but Kaikukeskus." example:"5"`
	Categories             []string `json:"categories" required:"true" doc:"The use categories." example:"culture"`
	AgeBands               []int    `json:"ageBands" required:"true" doc:"Lower bounds of the age groups statistics count by, strictly increasing." example:"16"`
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
	BirthYear     int    `json:"birthYear" minimum:"1900" doc:"The holder's year of birth (required for a personal card). Never a birth date." example:"1971"`
	PostalCode    string `json:"postalCode" required:"true" pattern:"postal" doc:"The holder's postal code. Never an address." example:"02100"`
	MinorChildren *int   `json:"minorChildren" required:"true" minimum:"0" maximum:"30" doc:"Own or same-household minor children or grandchildren." example:"2"`
	LifeSituation string `json:"lifeSituation,omitempty" enum:"lifeSituation" doc:"Voluntary: the holder's life situation." example:"student"`
	Gender        string `json:"gender,omitempty" enum:"gender" doc:"Voluntary: the holder's gender." example:"female"`
}

type issueCardRequest struct {
	ID       string        `json:"id" required:"true" pattern:"card" doc:"The card number printed on the card (Code 39)." example:"K-0001234"`
	Issuer   string        `json:"issuer,omitempty" pattern:"id" doc:"The issuing office; the caller when left out." example:"espoo-sos-1"`
	IssuedOn domain.Date   `json:"issuedOn" doc:"The day of issue; today when left out." example:"2024-03-01"`
	Kind     card.Kind     `json:"kind" required:"true" doc:"A personal card or a community card." example:"personal"`
	Holder   holderRequest `json:"holder" required:"true" doc:"All the register keeps about the holder: no name, identity code, birth date or address."`
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
	NewCardID string      `json:"newCardId" required:"true" pattern:"card" doc:"The number of the new card." example:"K-0005678"`
	On        domain.Date `json:"on" doc:"The day of the replacement; today when left out." example:"2024-06-01"`
}

type correctCardRequest struct {
	On            domain.Date `json:"on" doc:"The day of the correction; today when left out." example:"2024-06-01"`
	MinorChildren *int        `json:"minorChildren,omitempty" minimum:"0" maximum:"30" doc:"The corrected number of minor children." example:"3"`
	PostalCode    *string     `json:"postalCode,omitempty" pattern:"postal" doc:"The corrected postal code." example:"02200"`
	LifeSituation *string     `json:"lifeSituation,omitempty" enum:"lifeSituation" doc:"The corrected life situation." example:"retired"`
	Gender        *string     `json:"gender,omitempty" enum:"gender" doc:"The corrected gender." example:"undisclosed"`
	BirthYear     *int        `json:"birthYear,omitempty" minimum:"1900" doc:"The corrected birth year." example:"1972"`
}

type recordUseRequest struct {
	ID           string       `json:"id,omitempty" pattern:"id" doc:"The use's id, to cancel it later; a UUID is given when left out." example:"u-2024-0001"`
	Venue        string       `json:"venue,omitempty" pattern:"id" doc:"The venue; the caller when left out." example:"espoo-museum"`
	UsedOn       domain.Date  `json:"usedOn" doc:"The day of the use; today when left out." example:"2024-04-02"`
	Category     string       `json:"category,omitempty" maxLength:"64" doc:"A category of the guideline in force; the venue's own when left out." example:"culture"`
	Kind         card.UseKind `json:"kind,omitempty" doc:"An admission ticket (event) or a course place or season pass (course); event when left out." example:"event"`
	ChildTickets int          `json:"childTickets" minimum:"0" maximum:"30" doc:"Free children's tickets taken alongside (not for courses), at most the card's minor children." example:"1"`
	Assistant    bool         `json:"assistant" doc:"Whether an assistant came along (always free)." example:"false"`
}

func (r recordUseRequest) command() command.RecordUse {
	return command.RecordUse{ID: card.UseID(r.ID), Venue: partner.ID(r.Venue), UsedOn: r.UsedOn, Category: r.Category,
		Kind: r.Kind, ChildTickets: r.ChildTickets, Assistant: r.Assistant}
}

type cancelUseRequest struct {
	On     domain.Date `json:"on" doc:"The day of the correction; today when left out." example:"2024-04-03"`
	Reason string      `json:"reason,omitempty" enum:"useCancellation" doc:"Why the use is void." example:"wrong_card"`
	Note   string      `json:"note,omitempty" doc:"Optional free text, at most 1,000 characters; erasable. Never the holder's data." example:"Scanned the companion's card."`
}
