package card_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func d(s string) domain.Date { return domain.MustDate(s) }
func ptr[T any](v T) *T      { return &v }

var (
	rules    = guideline.National2022().Rules
	espoo    = locality.Facts{ID: "espoo", Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")}
	vantaa   = locality.Facts{ID: "vantaa", Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")}
	helsinki = locality.Facts{ID: "helsinki", Scope: locality.ScopeLocal, JoinedOn: d("2024-01-01")}
	issuer   = partner.Facts{ID: "espoo-sos-1", Locality: "espoo", Kind: partner.KindIssuer, Category: partner.CategorySocial,
		JoinedOn: d("2024-01-15"), ApprovedOn: d("2024-02-01"),
		Commitments: []partner.Commitment{{GuidelineVersion: "2022", Via: partner.ViaAgreement, On: d("2024-01-15")}}}
	museum = partner.Facts{ID: "espoo-museum", Locality: "espoo", Kind: partner.KindVenue, Category: partner.CategoryCulture, JoinedOn: d("2024-01-15")}
	holder = card.Holder{BirthYear: 1971, PostalCode: "02100", MinorChildren: 2}
)

func issuance() card.Issuance {
	return card.Issuance{Card: "K-0001234", Issuer: "espoo-sos-1", IssuedOn: d("2024-03-01"), Kind: card.KindPersonal, Holder: holder}
}

func issued() card.Issued {
	return card.Issued{Card: "K-0001234", Issuer: "espoo-sos-1", Locality: "espoo", IssuedOn: d("2024-03-01"),
		ValidUntil: d("2025-02-28"), Kind: card.KindPersonal, Holder: holder}
}

type testCase struct {
	name     string
	given    []domain.Event
	when     func(*card.Card) error
	want     []domain.Event
	wantCode string
}

func run(t *testing.T, tests []testCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := card.Load(tt.given)
			err := tt.when(c)
			if tt.wantCode != "" {
				if got := domain.CodeOf(err); got != tt.wantCode {
					t.Fatalf("error = %v (code %q), want code %q", err, got, tt.wantCode)
				}
				if len(c.Changes()) != 0 {
					t.Fatalf("a refused command raised %+v", c.Changes())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(c.Changes(), tt.want) {
				t.Fatalf("changes = %+v\nwant %+v", c.Changes(), tt.want)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	t.Parallel()
	issue := func(i card.Issuance, p partner.Facts, loc locality.Facts) func(*card.Card) error {
		return func(c *card.Card) error { return c.Issue(i, p, loc, rules) }
	}
	with := func(f func(*card.Issuance)) card.Issuance { i := issuance(); f(&i); return i }
	withIssuer := func(f func(*partner.Facts)) partner.Facts {
		p := issuer
		p.Commitments = append([]partner.Commitment(nil), issuer.Commitments...)
		f(&p)
		return p
	}
	run(t, []testCase{
		{name: "an approved, committed issuer issues a card valid for twelve months less a day",
			when: issue(issuance(), issuer, espoo), want: []domain.Event{issued()}},
		{name: "a card kind left out means a personal card",
			when: issue(with(func(i *card.Issuance) { i.Kind = "" }), issuer, espoo), want: []domain.Event{issued()}},
		{name: "a holder turning 16 in the year of issue gets a card",
			when: issue(with(func(i *card.Issuance) { i.Holder.BirthYear = 2008; i.IssuedOn = d("2024-02-02") }), issuer, espoo),
			want: []domain.Event{func() card.Issued {
				e := issued()
				e.Holder.BirthYear, e.IssuedOn, e.ValidUntil = 2008, d("2024-02-02"), d("2025-02-01")
				return e
			}()}},
		{name: "a holder turning 15 in the year of issue is too young",
			when: issue(with(func(i *card.Issuance) { i.Holder.BirthYear = 2009 }), issuer, espoo), wantCode: "holder_too_young"},
		{name: "a card number cannot be registered twice", given: []domain.Event{issued()},
			when: issue(issuance(), issuer, espoo), wantCode: "card_exists"},
		{name: "an unknown issuer cannot issue", when: issue(issuance(), partner.Facts{}, espoo), wantCode: "issuer_unknown"},
		{name: "a venue cannot issue",
			when: issue(issuance(), withIssuer(func(p *partner.Facts) { p.Kind = partner.KindVenue }), espoo), wantCode: "not_an_issuer"},
		{name: "an issuer cannot issue before it joined",
			when: issue(with(func(i *card.Issuance) { i.IssuedOn = d("2024-01-10") }), issuer, espoo), wantCode: "issuer_not_joined"},
		{name: "an issuer approved after the issue date cannot issue on it",
			when: issue(issuance(), withIssuer(func(p *partner.Facts) { p.ApprovedOn = d("2024-03-02") }), espoo), wantCode: "issuer_not_approved"},
		{name: "an issuer never approved cannot issue",
			when: issue(issuance(), withIssuer(func(p *partner.Facts) { p.ApprovedOn = domain.Date{} }), espoo), wantCode: "issuer_not_approved"},
		{name: "an issuer committed only after the issue date cannot issue on it",
			when: issue(issuance(), withIssuer(func(p *partner.Facts) { p.Commitments[0].On = d("2024-03-02") }), espoo), wantCode: "issuer_not_committed"},
		{name: "an issuer that left on the issue date cannot issue",
			when: issue(issuance(), withIssuer(func(p *partner.Facts) { p.LeftOn = d("2024-03-01") }), espoo), wantCode: "issuer_left"},
		{name: "an issuer whose locality left the network cannot issue",
			when: issue(issuance(), issuer, func() locality.Facts { l := espoo; l.LeftOn = d("2024-02-15"); return l }()), wantCode: "locality_not_in_network"},
		{name: "a malformed card number is rejected",
			when: issue(with(func(i *card.Issuance) { i.Card = "k 1" }), issuer, espoo), wantCode: "invalid_card_number"},
		{name: "a postal code must have five digits",
			when: issue(with(func(i *card.Issuance) { i.Holder.PostalCode = "2100" }), issuer, espoo), wantCode: "invalid_postal_code"},
		{name: "a personal card needs the holder's birth year",
			when: issue(with(func(i *card.Issuance) { i.Holder.BirthYear = 0 }), issuer, espoo), wantCode: "missing_field"},
		{name: "a life situation must be a code, not free text that could name someone",
			when: issue(with(func(i *card.Issuance) { i.Holder.LifeSituation = "Matti Meikäläinen" }), issuer, espoo), wantCode: "invalid_life_situation"},
		{name: "a negative number of minor children is rejected",
			when: issue(with(func(i *card.Issuance) { i.Holder.MinorChildren = -1 }), issuer, espoo), wantCode: "invalid_minor_children"},
	})
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	cancelled := []domain.Event{issued(), card.Cancelled{On: d("2024-06-01")}}
	replaced := []domain.Event{issued(), card.Replaced{NewCard: "K-0009999", On: d("2024-06-01")}}
	run(t, []testCase{
		{name: "the issuing unit renews a card for twelve months from the renewal", given: []domain.Event{issued()},
			when: func(c *card.Card) error { return c.Renew(d("2025-02-20"), "espoo-sos-1", rules) },
			want: []domain.Event{card.Renewed{On: d("2025-02-20"), ValidUntil: d("2026-02-19")}}},
		{name: "another issuer cannot renew the card", given: []domain.Event{issued()},
			when: func(c *card.Card) error { return c.Renew(d("2025-02-20"), "espoo-sos-2", rules) }, wantCode: "renewal_by_other_issuer"},
		{name: "a cancelled card cannot be renewed", given: cancelled,
			when: func(c *card.Card) error { return c.Renew(d("2025-02-20"), "", rules) }, wantCode: "card_cancelled"},
		{name: "a replaced card cannot be renewed", given: replaced,
			when: func(c *card.Card) error { return c.Renew(d("2025-02-20"), "", rules) }, wantCode: "card_replaced"},
		{name: "a card cannot be renewed before it was issued", given: []domain.Event{issued()},
			when: func(c *card.Card) error { return c.Renew(d("2024-01-01"), "", rules) }, wantCode: "before_issue"},
		{name: "an unregistered card cannot be renewed",
			when: func(c *card.Card) error { return c.Renew(d("2025-02-20"), "", rules) }, wantCode: "card_not_registered"},
		{name: "the register corrects the number of minor children", given: []domain.Event{issued()},
			when: func(c *card.Card) error {
				return c.Correct(card.DetailsCorrected{On: d("2024-04-01"), MinorChildren: ptr(3)})
			},
			want: []domain.Event{card.DetailsCorrected{On: d("2024-04-01"), MinorChildren: ptr(3)}}},
		{name: "a correction must correct something", given: []domain.Event{issued()},
			when: func(c *card.Card) error { return c.Correct(card.DetailsCorrected{On: d("2024-04-01")}) }, wantCode: "nothing_to_correct"},
		{name: "a correction to a malformed postal code is rejected", given: []domain.Event{issued()},
			when: func(c *card.Card) error {
				return c.Correct(card.DetailsCorrected{On: d("2024-04-01"), PostalCode: ptr("ABCDE")})
			}, wantCode: "invalid_postal_code"},
		{name: "a cancelled card is not corrected", given: cancelled,
			when: func(c *card.Card) error {
				return c.Correct(card.DetailsCorrected{On: d("2024-07-01"), MinorChildren: ptr(3)})
			}, wantCode: "card_cancelled"},
		{name: "a card is cancelled", given: []domain.Event{issued()},
			when: func(c *card.Card) error { return c.Cancel(d("2024-06-01"), "holder_request", domain.Person{}) },
			want: []domain.Event{card.Cancelled{On: d("2024-06-01"), Reason: "holder_request"}}},
		{name: "a card cannot be cancelled twice", given: cancelled,
			when: func(c *card.Card) error { return c.Cancel(d("2024-07-01"), "", domain.Person{}) }, wantCode: "card_already_cancelled"},
		{name: "an unregistered card cannot be cancelled",
			when: func(c *card.Card) error { return c.Cancel(d("2024-07-01"), "", domain.Person{}) }, wantCode: "card_not_registered"},
	})
}

// TestEndsJudgeTheWholeHistory: a cancellation or replacement is judged
// against every fact recorded on the card, not only its state on the
// command's date, so that a cancelled card never comes back and no
// recorded use becomes a use on an ended card.
func TestEndsJudgeTheWholeHistory(t *testing.T) {
	t.Parallel()
	use := func(id card.UseID, on string) card.UseRecorded {
		return card.UseRecorded{Use: id, Venue: "espoo-museum", VenueLocality: "espoo", UsedOn: d(on), Category: "culture", Kind: card.UseEvent}
	}
	usedInJuly := []domain.Event{issued(), use("u1", "2024-04-02"), use("u2", "2024-07-01")}
	cancel := func(on string) func(*card.Card) error {
		return func(c *card.Card) error { return c.Cancel(d(on), "moved_away", domain.Person{}) }
	}
	run(t, []testCase{
		{name: "a cancellation dated before the card's last use is refused", given: usedInJuly,
			when: cancel("2024-06-01"), wantCode: "card_active_after"},
		{name: "a cancellation dated on the day of the last use is accepted", given: usedInJuly,
			when: cancel("2024-07-01"), want: []domain.Event{card.Cancelled{On: d("2024-07-01"), Reason: "moved_away"}}},
		{name: "a cancellation dated before a use that was itself cancelled is accepted",
			given: append(usedInJuly[:3:3], card.UseCancelled{Use: "u2", On: d("2024-07-02")}),
			when:  cancel("2024-06-01"), want: []domain.Event{card.Cancelled{On: d("2024-06-01"), Reason: "moved_away"}}},
		{name: "a cancellation dated before a renewal is refused",
			given: []domain.Event{issued(), card.Renewed{On: d("2025-02-20"), ValidUntil: d("2026-02-19")}},
			when:  cancel("2025-01-01"), wantCode: "card_active_after"},
		{name: "a cancellation dated before a correction of the register is accepted: a correction is not a use of the card",
			given: []domain.Event{issued(), card.DetailsCorrected{On: d("2024-08-01"), MinorChildren: ptr(3)}},
			when:  cancel("2024-07-01"), want: []domain.Event{card.Cancelled{On: d("2024-07-01"), Reason: "moved_away"}}},
		{name: "a replaced card is not cancelled from a date before its replacement",
			given: []domain.Event{issued(), card.Replaced{NewCard: "K-0009999", On: d("2024-06-01")}},
			when:  cancel("2024-05-01"), wantCode: "card_replaced"},
		{name: "a renewal entered late, dated before the cancellation, is accepted and the card stays cancelled",
			given: []domain.Event{issued(), card.Cancelled{On: d("2025-06-01")}},
			when: func(c *card.Card) error {
				if err := c.Renew(d("2025-02-20"), "", rules); err != nil {
					return err
				}
				if c.ValidOn(d("2025-06-01")) {
					return errors.New("a renewal dated before the cancellation brought the card back")
				}
				return nil
			},
			want: []domain.Event{card.Renewed{On: d("2025-02-20"), ValidUntil: d("2026-02-19")}}},
	})
}

func TestReplace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		old      []domain.Event
		new      []domain.Event
		newID    card.ID
		on       string
		wantOld  []domain.Event
		wantNew  []domain.Event
		wantCode string
	}{
		{name: "a lost card is replaced and the new card carries the registration and validity over",
			old: []domain.Event{issued()}, newID: "K-0009999", on: "2024-06-01",
			wantOld: []domain.Event{card.Replaced{NewCard: "K-0009999", On: d("2024-06-01")}},
			wantNew: []domain.Event{card.ReplacementIssued{Card: "K-0009999", ReplacesCard: "K-0001234", Issuer: "espoo-sos-1",
				Locality: "espoo", IssuedOn: d("2024-06-01"), ValidUntil: d("2025-02-28"), Kind: card.KindPersonal, Holder: holder}}},
		{name: "a replacement cannot take a registered card number",
			old: []domain.Event{issued()}, new: []domain.Event{func() card.Issued { e := issued(); e.Card = "K-0009999"; return e }()},
			newID: "K-0009999", on: "2024-06-01", wantCode: "card_exists"},
		{name: "a cancelled card is not replaced",
			old: []domain.Event{issued(), card.Cancelled{On: d("2024-05-01")}}, newID: "K-0009999", on: "2024-06-01", wantCode: "card_cancelled"},
		{name: "a cancelled card is not replaced by a replacement dated before the cancellation",
			old: []domain.Event{issued(), card.Cancelled{On: d("2024-06-01")}}, newID: "K-0009999", on: "2024-05-01", wantCode: "card_cancelled"},
		{name: "a replaced card is not replaced again from an earlier date",
			old: []domain.Event{issued(), card.Replaced{NewCard: "K-0005555", On: d("2024-06-01")}}, newID: "K-0009999", on: "2024-05-01", wantCode: "card_replaced"},
		{name: "a replacement dated before the old card's last use is refused",
			old: []domain.Event{issued(), card.UseRecorded{Use: "u1", Venue: "espoo-museum", VenueLocality: "espoo", UsedOn: d("2024-07-01"),
				Category: "culture", Kind: card.UseEvent}}, newID: "K-0009999", on: "2024-06-01", wantCode: "card_active_after"},
		{name: "a card replaced once is not replaced again",
			old: []domain.Event{issued(), card.Replaced{NewCard: "K-0005555", On: d("2024-05-01")}}, newID: "K-0009999", on: "2024-06-01", wantCode: "card_replaced"},
		{name: "an expired card is renewed, not replaced",
			old: []domain.Event{issued()}, newID: "K-0009999", on: "2025-03-01", wantCode: "card_expired"},
		{name: "a card cannot replace itself",
			old: []domain.Event{issued()}, newID: "K-0001234", on: "2024-06-01", wantCode: "same_card"},
		{name: "an unregistered card is not replaced", newID: "K-0009999", on: "2024-06-01", wantCode: "card_not_registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old, nc := card.Load(tt.old), card.Load(tt.new)
			err := card.Replace(old, nc, tt.newID, d(tt.on))
			if tt.wantCode != "" {
				if got := domain.CodeOf(err); got != tt.wantCode {
					t.Fatalf("error = %v (code %q), want code %q", err, got, tt.wantCode)
				}
				if len(old.Changes())+len(nc.Changes()) != 0 {
					t.Fatalf("a refused replacement raised %+v and %+v", old.Changes(), nc.Changes())
				}
				return
			}
			if err != nil {
				t.Fatalf("Replace: %v", err)
			}
			if !reflect.DeepEqual(old.Changes(), tt.wantOld) || !reflect.DeepEqual(nc.Changes(), tt.wantNew) {
				t.Fatalf("old changes %+v, new changes %+v\nwant %+v and %+v", old.Changes(), nc.Changes(), tt.wantOld, tt.wantNew)
			}
			if !nc.ValidOn(d("2024-06-01")) || old.ValidOn(d("2024-06-01")) {
				t.Fatal("after replacement the new card must be valid and the old one not")
			}
		})
	}
}

func TestRecordUse(t *testing.T) {
	t.Parallel()
	use := func(f func(*card.Use)) card.Use {
		u := card.Use{ID: "u1", Venue: "espoo-museum", UsedOn: d("2024-04-02"), ChildTickets: 1}
		if f != nil {
			f(&u)
		}
		return u
	}
	recorded := func(f func(*card.UseRecorded)) []domain.Event {
		e := card.UseRecorded{Use: "u1", Venue: "espoo-museum", VenueLocality: "espoo", UsedOn: d("2024-04-02"),
			Category: "culture", Kind: card.UseEvent, ChildTickets: 1}
		if f != nil {
			f(&e)
		}
		return []domain.Event{e}
	}
	at := func(u card.Use, f card.VenueFacts) func(*card.Card) error {
		return func(c *card.Card) error { return c.RecordUse(u, f, rules) }
	}
	home := card.VenueFacts{Venue: museum, CardLocality: espoo, VenueLocality: espoo}
	venueWith := func(f func(*partner.Facts)) card.VenueFacts { v := home; f(&v.Venue); return v }
	vantaaVenue := partner.Facts{ID: "vantaa-pool", Locality: "vantaa", Kind: partner.KindVenue, Category: partner.CategorySport, JoinedOn: d("2024-01-15")}
	helsinkiVenue := partner.Facts{ID: "hki-theatre", Locality: "helsinki", Kind: partner.KindVenue, Category: partner.CategoryCulture, JoinedOn: d("2024-01-15")}
	localIssued := func() card.Issued { e := issued(); e.Locality = "helsinki"; return e }()
	given := []domain.Event{issued()}
	run(t, []testCase{
		{name: "a use takes the venue's category and is an event by default", given: given,
			when: at(use(nil), home), want: recorded(nil)},
		{name: "a venue may record another category than its own", given: given,
			when: at(use(func(u *card.Use) { u.Category = "education" }), home),
			want: recorded(func(e *card.UseRecorded) { e.Category = "education" })},
		{name: "a use records an assistant, who is always free", given: given,
			when: at(use(func(u *card.Use) { u.Assistant = true; u.ChildTickets = 0 }), home),
			want: recorded(func(e *card.UseRecorded) { e.Assistant = true; e.ChildTickets = 0 })},
		{name: "a use on an unregistered card is refused", when: at(use(nil), home), wantCode: "card_not_registered"},
		{name: "a use dated before the card was issued is refused", given: given,
			when: at(use(func(u *card.Use) { u.UsedOn = d("2024-02-29") }), home), wantCode: "used_before_issue"},
		{name: "a use on the day of cancellation is refused", given: append(given[:1:1], card.Cancelled{On: d("2024-04-02")}),
			when: at(use(nil), home), wantCode: "card_cancelled"},
		{name: "a use entered late, dated before a later cancellation, is accepted", given: append(given[:1:1], card.Cancelled{On: d("2024-05-01")}),
			when: at(use(nil), home), want: recorded(nil)},
		{name: "a use after the last valid day is refused", given: given,
			when: at(use(func(u *card.Use) { u.UsedOn = d("2025-03-01") }), home), wantCode: "card_expired"},
		{name: "a use on the last valid day is accepted", given: given,
			when: at(use(func(u *card.Use) { u.UsedOn = d("2025-02-28") }), home),
			want: recorded(func(e *card.UseRecorded) { e.UsedOn = d("2025-02-28") })},
		{name: "a use in the gap between expiry and renewal is refused", given: append(given[:1:1], card.Renewed{On: d("2025-03-10"), ValidUntil: d("2026-03-09")}),
			when: at(use(func(u *card.Use) { u.UsedOn = d("2025-03-05") }), home), wantCode: "card_expired"},
		{name: "a use after renewal is accepted", given: append(given[:1:1], card.Renewed{On: d("2025-03-10"), ValidUntil: d("2026-03-09")}),
			when: at(use(func(u *card.Use) { u.UsedOn = d("2025-06-01") }), home),
			want: recorded(func(e *card.UseRecorded) { e.UsedOn = d("2025-06-01") })},
		{name: "a use on a replaced card is refused", given: append(given[:1:1], card.Replaced{NewCard: "K-2", On: d("2024-04-01")}),
			when: at(use(nil), home), wantCode: "card_replaced"},
		{name: "more children's tickets than registered minor children are refused", given: given,
			when: at(use(func(u *card.Use) { u.ChildTickets = 3 }), home), wantCode: "too_many_child_tickets"},
		{name: "a corrected number of children allows more children's tickets",
			given: append(given[:1:1], card.DetailsCorrected{On: d("2024-03-15"), MinorChildren: ptr(3)}),
			when:  at(use(func(u *card.Use) { u.ChildTickets = 3 }), home),
			want:  recorded(func(e *card.UseRecorded) { e.ChildTickets = 3 })},
		{name: "children's tickets with a course are refused under the 2022 rules", given: given,
			when: at(use(func(u *card.Use) { u.Kind = card.UseCourse }), home), wantCode: "child_tickets_not_for_courses"},
		{name: "a course place without children's tickets is accepted", given: given,
			when: at(use(func(u *card.Use) { u.Kind = card.UseCourse; u.ChildTickets = 0 }), home),
			want: recorded(func(e *card.UseRecorded) { e.Kind = card.UseCourse; e.ChildTickets = 0 })},
		{name: "a use at an unknown venue is refused", given: given,
			when: at(use(nil), card.VenueFacts{CardLocality: espoo}), wantCode: "venue_unknown"},
		{name: "a use at an issuer is refused", given: given,
			when: at(use(nil), venueWith(func(p *partner.Facts) { p.Kind = partner.KindIssuer })), wantCode: "not_a_venue"},
		{name: "a use at a venue before it joined is refused", given: given,
			when: at(use(nil), venueWith(func(p *partner.Facts) { p.JoinedOn = d("2024-04-03") })), wantCode: "venue_not_joined"},
		{name: "a use at a venue on the day it left is refused", given: given,
			when: at(use(nil), venueWith(func(p *partner.Facts) { p.LeftOn = d("2024-04-02") })), wantCode: "venue_left"},
		{name: "a national card is used at a venue of another national locality", given: given,
			when: at(use(func(u *card.Use) { u.Venue = "vantaa-pool"; u.ChildTickets = 0 }), card.VenueFacts{Venue: vantaaVenue, CardLocality: espoo, VenueLocality: vantaa}),
			want: recorded(func(e *card.UseRecorded) {
				e.Venue, e.VenueLocality, e.Category, e.ChildTickets = "vantaa-pool", "vantaa", "sport", 0
			})},
		{name: "a national card is refused at a venue of a local-scope locality", given: given,
			when:     at(use(func(u *card.Use) { u.Venue = "hki-theatre" }), card.VenueFacts{Venue: helsinkiVenue, CardLocality: espoo, VenueLocality: helsinki}),
			wantCode: "out_of_scope"},
		{name: "a local card is refused at a venue of another locality", given: []domain.Event{localIssued},
			when: at(use(nil), card.VenueFacts{Venue: museum, CardLocality: helsinki, VenueLocality: espoo}), wantCode: "out_of_scope"},
		{name: "a local card is used at a venue of its own locality", given: []domain.Event{localIssued},
			when: at(use(func(u *card.Use) { u.Venue = "hki-theatre" }), card.VenueFacts{Venue: helsinkiVenue, CardLocality: helsinki, VenueLocality: helsinki}),
			want: recorded(func(e *card.UseRecorded) { e.Venue, e.VenueLocality = "hki-theatre", "helsinki" })},
		{name: "a category outside the guideline's categories is refused", given: given,
			when: at(use(func(u *card.Use) { u.Category = "dance" }), home), wantCode: "unknown_category"},
		{name: "a use id cannot be recorded twice", given: append(given[:1:1], recorded(nil)...),
			when: at(use(nil), home), wantCode: "duplicate_use"},
		{name: "a use without a date is malformed", given: given,
			when: at(use(func(u *card.Use) { u.UsedOn = domain.Date{} }), home), wantCode: "missing_date"},
		{name: "a use kind must be event or course", given: given,
			when: at(use(func(u *card.Use) { u.Kind = "concert" }), home), wantCode: "invalid_kind"},
	})
}

func TestCancelUse(t *testing.T) {
	t.Parallel()
	withUse := []domain.Event{issued(), card.UseRecorded{Use: "u1", Venue: "espoo-museum", VenueLocality: "espoo",
		UsedOn: d("2024-04-02"), Category: "culture", Kind: card.UseEvent}}
	run(t, []testCase{
		{name: "a wrong use is cancelled by a correcting event", given: withUse,
			when: func(c *card.Card) error { return c.CancelUse("u1", "wrong_card", domain.Person{}, d("2024-04-03")) },
			want: []domain.Event{card.UseCancelled{Use: "u1", Reason: "wrong_card", On: d("2024-04-03")}}},
		{name: "an unknown use cannot be cancelled", given: withUse,
			when: func(c *card.Card) error { return c.CancelUse("u2", "", domain.Person{}, d("2024-04-03")) }, wantCode: "unknown_use"},
		{name: "a use cannot be cancelled twice", given: append(withUse[:2:2], card.UseCancelled{Use: "u1", On: d("2024-04-03")}),
			when: func(c *card.Card) error { return c.CancelUse("u1", "", domain.Person{}, d("2024-04-04")) }, wantCode: "use_already_cancelled"},
	})
}

func TestHolderCarriesNoIdentifyingField(t *testing.T) {
	t.Parallel()
	allowed := map[string]bool{"BirthYear": true, "PostalCode": true, "MinorChildren": true, "LifeSituation": true, "Gender": true}
	typ := reflect.TypeOf(card.Holder{})
	for i := range typ.NumField() {
		if f := typ.Field(i); !allowed[f.Name] {
			t.Errorf("Holder has field %s; only birth year, postal code, minor children, life situation and gender may be kept", f.Name)
		}
	}
}
