package history

import (
	"fmt"
	"strings"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Summary returns the one-line description of an event that the history
// shows. It never includes personal data: contact and coordinator changes
// name no person, card events name no holder detail. An event this build
// cannot decode (ev nil) is summarised by its type.
func Summary(rec domain.Record, ev domain.Event) string {
	id := rec.Stream.ID()
	switch e := ev.(type) {
	case locality.Registered:
		return fmt.Sprintf("locality %s (%s, %s scope) registered from %s", e.ID, e.Name, e.Scope, e.JoinedOn)
	case locality.PilotConcluded:
		return fmt.Sprintf("pilot of %s concluded on %s", id, e.On)
	case locality.Left:
		return withReason(fmt.Sprintf("locality %s left the network on %s", id, e.On), e.Reason)
	case locality.CoordinatorAssigned:
		return fmt.Sprintf("%s coordinator of %s assigned from %s", e.Side, id, e.On)
	case locality.FeedbackMeetingHeld:
		return fmt.Sprintf("feedback meeting of %s held on %s (%d participants)", id, e.HeldOn, e.Participants)
	case partner.Joined:
		return fmt.Sprintf("%s %s (%s, %s) joined %s on %s", e.Kind, e.ID, e.Name, e.Category, e.Locality, e.JoinedOn)
	case partner.IssuerApproved:
		return fmt.Sprintf("issuer %s approved from %s", id, e.On)
	case partner.ContactChanged:
		return fmt.Sprintf("contact of %s changed from %s", id, e.On)
	case partner.GuidelineCommitted:
		return fmt.Sprintf("%s committed to guideline %s via %s on %s", id, e.GuidelineVersion, e.Via, e.On)
	case partner.Left:
		return withReason(fmt.Sprintf("partner %s left on %s", id, e.On), e.Reason)
	case agreement.Signed:
		return fmt.Sprintf("%s agreement %s signed between %s and %s (template %s), valid %s – %s",
			e.Kind, e.ID, e.Locality, e.Partner, e.TemplateVersion, e.ValidFrom, e.ValidUntil)
	case agreement.Amended:
		return withReason(fmt.Sprintf("agreement %s amended on %s, valid until %s", id, e.On, e.ValidUntil), e.Reason)
	case agreement.Terminated:
		return withReason(fmt.Sprintf("agreement %s terminated on %s", id, e.On), e.Reason)
	case guideline.Revised:
		return fmt.Sprintf("guideline %s adopted on %s, effective from %s", e.Version, e.AdoptedOn, e.EffectiveFrom)
	case card.Issued:
		return fmt.Sprintf("%s card %s issued by %s on %s, valid until %s", e.Kind, e.Card, e.Issuer, e.IssuedOn, e.ValidUntil)
	case card.Renewed:
		return fmt.Sprintf("card %s renewed on %s, valid until %s", id, e.On, e.ValidUntil)
	case card.Replaced:
		return fmt.Sprintf("card %s replaced by %s on %s", id, e.NewCard, e.On)
	case card.ReplacementIssued:
		return fmt.Sprintf("card %s issued by %s on %s to replace %s", e.Card, e.Issuer, e.IssuedOn, e.ReplacesCard)
	case card.DetailsCorrected:
		return fmt.Sprintf("details of card %s corrected on %s (%s)", id, e.On, correctedFields(e))
	case card.Cancelled:
		return withReason(fmt.Sprintf("card %s cancelled on %s", id, e.On), e.Reason)
	case card.UseRecorded:
		s := fmt.Sprintf("%s use %s of card %s at %s on %s (%s", e.Kind, e.Use, id, e.Venue, e.UsedOn, e.Category)
		if e.ChildTickets > 0 {
			s += fmt.Sprintf(", %d children's tickets", e.ChildTickets)
		}
		if e.Assistant {
			s += ", with assistant"
		}
		return s + ")"
	case card.UseCancelled:
		return withReason(fmt.Sprintf("use %s of card %s cancelled", e.Use, id), e.Reason)
	}
	return fmt.Sprintf("%s on %s", rec.Name(), rec.Stream)
}

// correctedFields names the corrected fields, never their values.
func correctedFields(e card.DetailsCorrected) string {
	var f []string
	if e.MinorChildren != nil {
		f = append(f, "minor children")
	}
	if e.PostalCode != nil {
		f = append(f, "postal code")
	}
	if e.LifeSituation != nil {
		f = append(f, "life situation")
	}
	if e.Gender != nil {
		f = append(f, "gender")
	}
	if e.BirthYear != nil {
		f = append(f, "birth year")
	}
	return strings.Join(f, ", ")
}

// withReason appends a free-text reason or note, cut to keep rows short.
func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	if r := []rune(reason); len(r) > 120 {
		reason = string(r[:120]) + "…"
	}
	return s + ": " + reason
}
