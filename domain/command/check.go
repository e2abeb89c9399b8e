package command

import (
	"errors"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// The checks below are the domain's side of the door: every value a
// command carries into the log is judged here (or by its aggregate) before
// anything is decided, with the request's field names, so that the log
// never holds a date outside the business window, a control character, an
// unbounded text, a personal identity code in an id or a text, or free
// text where a code belongs. A command's check returns every bad field at
// once (errors.Join of *domain.Invalid and *domain.Violation).

// Bounds of counts a command may carry.
const (
	maxParticipants   = 10_000
	maxChildTickets   = 30
	maxMunicipalities = 400
	maxListed         = 50 // guideline categories and age bands
)

type checks []error

func (c *checks) add(err error) {
	if err != nil {
		*c = append(*c, err)
	}
}

func (c checks) err() error { return errors.Join(c...) }

func (c *checks) id(field, s, code string) {
	if s != "" {
		c.add(domain.CheckID(field, s, code))
	}
}

// reason checks an optional reason code against the command's published
// list and its optional note (kept in the erasable personal part).
func (c *checks) reason(code string, list []string, note string) {
	if code != "" {
		c.add(domain.CheckCode("reason", code, "invalid_reason", list))
	}
	c.add(domain.CheckNote("note", note))
}

func (c *checks) person(prefix string, p domain.Person) {
	c.add(domain.CheckText(prefix+"name", p.Name, domain.MaxName))
	c.add(domain.CheckEmail(prefix+"email", p.Email))
	c.add(domain.CheckPhone(prefix+"phone", p.Phone))
}

func (c RegisterLocality) check(today domain.Date) error {
	var cs checks
	cs.id("id", string(c.ID), "invalid_id")
	cs.add(domain.CheckText("name", c.Name, domain.MaxName))
	cs.add(domain.CheckText("wellbeingCounty", c.WellbeingCounty, domain.MaxName))
	if len(c.Municipalities) > maxMunicipalities {
		cs.add(domain.Invalidf("too_many", "municipalities", "at most %d", maxMunicipalities))
	}
	cs.add(domain.CheckPast("joinedOn", c.JoinedOn, today))
	if c.Pilot != nil {
		cs.add(domain.CheckPast("pilot.from", c.Pilot.From, today))
		cs.add(domain.CheckAhead("pilot.until", c.Pilot.Until, today))
	}
	return cs.err()
}

func (c ConcludePilot) check(today domain.Date) error { return domain.CheckPast("on", c.On, today) }

func (c LeaveLocality) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckPast("on", c.On, today))
	cs.reason(c.Reason, locality.DepartureReasons, c.Note)
	return cs.err()
}

func (c AssignCoordinator) check(today domain.Date) error {
	var cs checks
	cs.person("", domain.Person{Name: c.Name, Email: c.Email, Phone: c.Phone})
	cs.add(domain.CheckPast("on", c.On, today))
	return cs.err()
}

func (c HoldFeedbackMeeting) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckPast("heldOn", c.HeldOn, today))
	cs.add(domain.CheckRange("participants", c.Participants, 1, maxParticipants, "invalid_participants"))
	return cs.err()
}

func (c JoinPartner) check(today domain.Date) error {
	var cs checks
	cs.id("id", string(c.ID), "invalid_id")
	cs.id("locality", string(c.Locality), "invalid_id")
	cs.add(domain.CheckText("name", c.Name, domain.MaxName))
	cs.person("contact.", c.Contact)
	cs.add(domain.CheckPast("joinedOn", c.JoinedOn, today))
	return cs.err()
}

func (c ApproveIssuer) check(today domain.Date) error { return domain.CheckPast("on", c.On, today) }

func (c ChangeContact) check(today domain.Date) error {
	var cs checks
	cs.person("", domain.Person{Name: c.Name, Email: c.Email, Phone: c.Phone})
	cs.add(domain.CheckPast("on", c.On, today))
	return cs.err()
}

func (c CommitToGuideline) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckText("guidelineVersion", string(c.GuidelineVersion), domain.MaxCode))
	cs.add(domain.CheckPast("on", c.On, today))
	return cs.err()
}

func (c LeavePartner) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckPast("on", c.On, today))
	cs.reason(c.Reason, partner.DepartureReasons, c.Note)
	return cs.err()
}

func (c SignAgreement) check(today domain.Date) error {
	var cs checks
	cs.id("id", string(c.ID), "invalid_id")
	cs.id("locality", string(c.Locality), "invalid_id")
	cs.id("partner", string(c.Partner), "invalid_id")
	cs.add(domain.CheckText("templateVersion", c.TemplateVersion, domain.MaxCode))
	cs.add(domain.CheckAhead("validFrom", c.ValidFrom, today))
	cs.add(domain.CheckAhead("validUntil", c.ValidUntil, today))
	return cs.err()
}

func (c AmendAgreement) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckPast("on", c.On, today))
	cs.add(domain.CheckAhead("validUntil", c.ValidUntil, today))
	cs.reason(c.Reason, agreement.AmendmentReasons, c.Note)
	return cs.err()
}

func (c TerminateAgreement) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckAhead("on", c.On, today))
	cs.reason(c.Reason, agreement.TerminationReasons, c.Note)
	return cs.err()
}

func (c ReviseGuideline) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckText("version", string(c.Version), domain.MaxCode))
	cs.add(domain.CheckPast("adoptedOn", c.AdoptedOn, today))
	cs.add(domain.CheckAhead("effectiveFrom", c.EffectiveFrom, today))
	if len(c.Rules.Categories) > maxListed {
		cs.add(domain.Invalidf("invalid_rules", "rules.categories", "at most %d", maxListed))
	}
	if len(c.Rules.AgeBands) > maxListed {
		cs.add(domain.Invalidf("invalid_rules", "rules.ageBands", "at most %d", maxListed))
	}
	for _, cat := range c.Rules.Categories {
		cs.add(domain.CheckText("rules.categories", cat, domain.MaxCode))
	}
	return cs.err()
}

func (c IssueCard) check(today domain.Date) error {
	var cs checks
	cs.id("id", string(c.ID), "invalid_card_number")
	cs.id("issuer", string(c.Issuer), "invalid_id")
	cs.add(domain.CheckPast("issuedOn", c.IssuedOn, today))
	cs.holder("holder.", c.Holder.PostalCode, &c.Holder.LifeSituation, &c.Holder.Gender)
	return cs.err()
}

// holder checks the voluntary codes and the postal code of a holder: the
// only texts a card carries, each from a closed list or of a fixed shape,
// so that nothing identifying can be typed into them.
func (cs *checks) holder(prefix, postal string, lifeSituation, gender *string) {
	if containsPersonal(postal) {
		cs.add(domain.Invalidf("personal_data_refused", prefix+"postalCode", "%s", domain.PersonalDataMessage))
	}
	if lifeSituation != nil && *lifeSituation != "" {
		cs.add(refusePersonal(prefix+"lifeSituation", *lifeSituation,
			domain.CheckCode(prefix+"lifeSituation", *lifeSituation, "invalid_life_situation", card.LifeSituations)))
	}
	if gender != nil && *gender != "" {
		cs.add(refusePersonal(prefix+"gender", *gender,
			domain.CheckCode(prefix+"gender", *gender, "invalid_gender", card.Genders)))
	}
}

// containsPersonal reports whether s holds anything shaped like personal
// data that no field of a card may carry.
func containsPersonal(s string) bool { return domain.CheckText("", s, domain.MaxNote) != nil }

// refusePersonal turns a refusal of a value that carries personal data
// into personal_data_refused, so that the answer says why.
func refusePersonal(field, value string, err error) error {
	if err != nil && containsPersonal(value) {
		return domain.Invalidf("personal_data_refused", field, "%s", domain.PersonalDataMessage)
	}
	return err
}

func (c RenewCard) check(today domain.Date) error { return domain.CheckPast("on", c.On, today) }

func (c ReplaceCard) check(today domain.Date) error {
	var cs checks
	cs.id("newCardId", string(c.NewCardID), "invalid_card_number")
	cs.add(domain.CheckPast("on", c.On, today))
	return cs.err()
}

func (c CorrectCard) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckPast("on", c.On, today))
	postal := ""
	if c.PostalCode != nil {
		postal = *c.PostalCode
	}
	cs.holder("", postal, c.LifeSituation, c.Gender)
	return cs.err()
}

func (c CancelCard) check(today domain.Date) error {
	var cs checks
	cs.add(domain.CheckPast("on", c.On, today))
	cs.reason(c.Reason, card.CancelReasons, c.Note)
	return cs.err()
}

func (c RecordUse) check(today domain.Date) error {
	var cs checks
	cs.id("id", string(c.ID), "invalid_use_id")
	cs.id("venue", string(c.Venue), "invalid_id")
	cs.add(domain.CheckPast("usedOn", c.UsedOn, today))
	if c.Category != "" {
		cs.add(domain.CheckText("category", c.Category, domain.MaxCode))
	}
	cs.add(domain.CheckRange("childTickets", c.ChildTickets, 0, maxChildTickets, "invalid_child_tickets"))
	return cs.err()
}

func (c CancelUse) check(today domain.Date) error {
	var cs checks
	cs.id("useId", string(c.Use), "invalid_use_id")
	cs.add(domain.CheckPast("on", c.On, today))
	cs.reason(c.Reason, card.UseCancelReasons, c.Note)
	return cs.err()
}
