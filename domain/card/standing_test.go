package card_test

import (
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/partner"
)

// TestStandingAgreesWithRecordUse checks that the card check's answer
// (Standing.StatusOn and UsableAt) is what RecordUse decides for a use on
// that date at that venue, over cards in every state.
func TestStandingAgreesWithRecordUse(t *testing.T) {
	t.Parallel()
	renewedLate := []domain.Event{issued(), card.Renewed{On: d("2025-06-01"), ValidUntil: d("2026-05-31")}}
	cancelled := []domain.Event{issued(), card.Cancelled{On: d("2024-06-01")}}
	replaced := []domain.Event{issued(), card.Replaced{NewCard: "K-0009999", On: d("2024-07-01")}}
	hall := partner.Facts{ID: "helsinki-hall", Locality: "helsinki", Kind: partner.KindVenue, Category: partner.CategoryCulture, JoinedOn: d("2024-01-15")}
	vantaaHall := partner.Facts{ID: "vantaa-hall", Locality: "vantaa", Kind: partner.KindVenue, Category: partner.CategorySport, JoinedOn: d("2024-01-15")}
	leftMuseum := museum
	leftMuseum.LeftOn = d("2024-05-01")
	tests := []struct {
		name       string
		given      []domain.Event
		on         string
		venue      card.VenueFacts
		wantStatus card.Status
		wantCode   string // "" when usable
	}{
		{name: "a card within its validity is valid and usable at its own locality's venue", given: []domain.Event{issued()}, on: "2024-04-02",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusValid},
		{name: "a national-scope card is usable at another national locality's venue", given: []domain.Event{issued()}, on: "2024-04-02",
			venue: card.VenueFacts{Venue: vantaaHall, CardLocality: espoo, VenueLocality: vantaa}, wantStatus: card.StatusValid},
		{name: "a card is valid but not usable at a venue of a local-scope locality", given: []domain.Event{issued()}, on: "2024-04-02",
			venue: card.VenueFacts{Venue: hall, CardLocality: espoo, VenueLocality: helsinki}, wantStatus: card.StatusValid, wantCode: "out_of_scope"},
		{name: "a card is valid but not usable at a venue that left", given: []domain.Event{issued()}, on: "2024-06-01",
			venue: card.VenueFacts{Venue: leftMuseum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusValid, wantCode: "venue_left"},
		{name: "a card past its last valid day is expired", given: []domain.Event{issued()}, on: "2025-03-01",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusExpired, wantCode: "card_expired"},
		{name: "a card in the gap before a late renewal is expired", given: renewedLate, on: "2025-05-01",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusExpired, wantCode: "card_expired"},
		{name: "a card renewed late is valid again from the renewal", given: renewedLate, on: "2025-06-01",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusValid},
		{name: "a cancelled card is cancelled from the cancellation date", given: cancelled, on: "2024-06-01",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusCancelled, wantCode: "card_cancelled"},
		{name: "a replaced card is replaced from the replacement date", given: replaced, on: "2024-07-01",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusReplaced, wantCode: "card_replaced"},
		{name: "a card before its issue is not yet valid", given: []domain.Event{issued()}, on: "2024-02-01",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusNotYetValid, wantCode: "used_before_issue"},
		{name: "an unknown card is not registered", on: "2024-04-02",
			venue: card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}, wantStatus: card.StatusNotRegistered, wantCode: "card_not_registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := card.Load(tt.given)
			s := c.Standing()
			if got := s.StatusOn(d(tt.on)); got != tt.wantStatus {
				t.Errorf("StatusOn = %q, want %q", got, tt.wantStatus)
			}
			if got := domain.CodeOf(s.UsableAt(d(tt.on), tt.venue)); got != tt.wantCode {
				t.Errorf("UsableAt code = %q, want %q", got, tt.wantCode)
			}
			err := c.RecordUse(card.Use{ID: "u1", Venue: tt.venue.Venue.ID, UsedOn: d(tt.on)}, tt.venue, rules)
			if got := domain.CodeOf(err); got != tt.wantCode {
				t.Errorf("RecordUse code = %q, UsableAt said %q", got, tt.wantCode)
			}
		})
	}
}
