package agreement_test

import (
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func d(s string) domain.Date { return domain.MustDate(s) }

var (
	espoo = locality.Facts{ID: "espoo", Scope: locality.ScopeNational, JoinedOn: d("2024-01-01"),
		Pilot: &locality.Period{From: d("2024-01-01"), Until: d("2024-12-31")}}
	pilotPartner = partner.Facts{ID: "espoo-sos-1", Locality: "espoo", Kind: partner.KindIssuer, JoinedOn: d("2024-01-15")}
	newPartner   = partner.Facts{ID: "espoo-sos-2", Locality: "espoo", Kind: partner.KindIssuer, JoinedOn: d("2025-02-01")}
)

func pilotAgreement() agreement.Signed {
	return agreement.Signed{ID: "espoo-sos-1-pilot", Locality: "espoo", Partner: "espoo-sos-1", Kind: agreement.KindPilot,
		TemplateVersion: "2022-1", ValidFrom: d("2024-01-15"), ValidUntil: d("2024-12-31")}
}

func networkAgreement() agreement.Signed {
	return agreement.Signed{ID: "espoo-sos-2-2025", Locality: "espoo", Partner: "espoo-sos-2", Kind: agreement.KindNetwork,
		TemplateVersion: "2022-1", ValidFrom: d("2025-02-01"), ValidUntil: d("2026-01-31")}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	signed := []domain.Event{pilotAgreement()}
	terminated := []domain.Event{pilotAgreement(), agreement.Terminated{On: d("2024-06-30")}}
	sign := func(s agreement.Signed, loc locality.Facts, p partner.Facts) func(*agreement.Agreement) error {
		return func(a *agreement.Agreement) error { return a.Sign(s, loc, p) }
	}
	with := func(s agreement.Signed, f func(*agreement.Signed)) agreement.Signed { f(&s); return s }
	tests := []struct {
		name     string
		given    []domain.Event
		when     func(*agreement.Agreement) error
		want     []domain.Event
		wantCode string
	}{
		{name: "a pilot agreement is signed within the pilot", when: sign(pilotAgreement(), espoo, pilotPartner), want: []domain.Event{pilotAgreement()}},
		{name: "an agreement cannot be signed twice", given: signed, when: sign(pilotAgreement(), espoo, pilotPartner), wantCode: "agreement_exists"},
		{name: "a pilot agreement cannot run past the pilot",
			when: sign(with(pilotAgreement(), func(s *agreement.Signed) { s.ValidUntil = d("2025-06-30") }), espoo, pilotPartner), wantCode: "outside_pilot_period"},
		{name: "a pilot agreement cannot be signed in a locality without a pilot",
			when: sign(pilotAgreement(), func() locality.Facts { l := espoo; l.Pilot = nil; return l }(), pilotPartner), wantCode: "outside_pilot_period"},
		{name: "a network agreement is signed after the pilot by a partner that joined after it",
			when: sign(networkAgreement(), espoo, newPartner), want: []domain.Event{networkAgreement()}},
		{name: "a network agreement cannot start during the pilot",
			when: sign(with(networkAgreement(), func(s *agreement.Signed) { s.ValidFrom = d("2024-12-01") }), espoo, newPartner), wantCode: "network_agreement_during_pilot"},
		{name: "after the pilot a partner that joined during it signs no new agreement",
			when: sign(with(networkAgreement(), func(s *agreement.Signed) { s.Partner = "espoo-sos-1" }), espoo, pilotPartner), wantCode: "partner_joined_during_pilot"},
		{name: "a partner of another locality cannot sign",
			when: sign(pilotAgreement(), espoo, func() partner.Facts { p := pilotPartner; p.Locality = "vantaa"; return p }()), wantCode: "partner_not_in_locality"},
		{name: "an unknown partner cannot sign", when: sign(pilotAgreement(), espoo, partner.Facts{}), wantCode: "partner_not_in_locality"},
		{name: "a partner that has left cannot sign",
			when: sign(pilotAgreement(), espoo, func() partner.Facts { p := pilotPartner; p.LeftOn = d("2024-01-10"); return p }()), wantCode: "partner_left"},
		{name: "a locality that left cannot sign",
			when: sign(pilotAgreement(), func() locality.Facts { l := espoo; l.LeftOn = d("2024-01-02"); return l }(), pilotPartner), wantCode: "locality_not_in_network"},
		{name: "validity cannot end before it starts",
			when: sign(with(pilotAgreement(), func(s *agreement.Signed) { s.ValidUntil = d("2024-01-01") }), espoo, pilotPartner), wantCode: "invalid_period"},
		{name: "an agreement is amended", given: signed,
			when: func(a *agreement.Agreement) error {
				return a.Amend(d("2024-05-01"), d("2024-11-30"), "shortening", domain.Person{Subject: "note:1", Note: "shorter"})
			},
			want: []domain.Event{agreement.Amended{On: d("2024-05-01"), ValidUntil: d("2024-11-30"), Reason: "shortening", Note: domain.Person{Subject: "note:1", Note: "shorter"}}}},
		{name: "a terminated agreement cannot be amended", given: terminated,
			when: func(a *agreement.Agreement) error {
				return a.Amend(d("2024-07-01"), d("2024-11-30"), "", domain.Person{})
			}, wantCode: "agreement_terminated"},
		{name: "an unsigned agreement cannot be amended",
			when: func(a *agreement.Agreement) error {
				return a.Amend(d("2024-07-01"), d("2024-11-30"), "", domain.Person{})
			}, wantCode: "agreement_not_signed"},
		{name: "an agreement is terminated within its validity", given: signed,
			when: func(a *agreement.Agreement) error {
				return a.Terminate(d("2024-06-30"), "mutual_agreement", domain.Person{})
			},
			want: []domain.Event{agreement.Terminated{On: d("2024-06-30"), Reason: "mutual_agreement"}}},
		{name: "an agreement cannot be terminated after its validity", given: signed,
			when: func(a *agreement.Agreement) error { return a.Terminate(d("2025-01-01"), "", domain.Person{}) }, wantCode: "termination_outside_validity"},
		{name: "a network agreement may run until further notice",
			when: sign(with(networkAgreement(), func(s *agreement.Signed) { s.ValidUntil = domain.Date{} }), espoo, newPartner),
			want: []domain.Event{with(networkAgreement(), func(s *agreement.Signed) { s.ValidUntil = domain.Date{} })}},
		{name: "a pilot agreement needs a last valid day",
			when: sign(with(pilotAgreement(), func(s *agreement.Signed) { s.ValidUntil = domain.Date{} }), espoo, pilotPartner), wantCode: "missing_date"},
		{name: "an open-ended agreement is terminated years later",
			given: []domain.Event{with(networkAgreement(), func(s *agreement.Signed) { s.ValidUntil = domain.Date{} })},
			when: func(a *agreement.Agreement) error {
				return a.Terminate(d("2031-06-30"), "mutual_agreement", domain.Person{})
			},
			want: []domain.Event{agreement.Terminated{On: d("2031-06-30"), Reason: "mutual_agreement"}}},
		{name: "a dated network agreement is amended to run until further notice", given: []domain.Event{networkAgreement()},
			when: func(a *agreement.Agreement) error {
				return a.Amend(d("2025-06-01"), domain.Date{}, "", domain.Person{})
			},
			want: []domain.Event{agreement.Amended{On: d("2025-06-01")}}},
		{name: "a pilot agreement cannot be amended to run until further notice", given: signed,
			when: func(a *agreement.Agreement) error {
				return a.Amend(d("2024-06-01"), domain.Date{}, "", domain.Person{})
			}, wantCode: "missing_date"},
		{name: "an agreement cannot be terminated twice", given: terminated,
			when: func(a *agreement.Agreement) error { return a.Terminate(d("2024-07-01"), "", domain.Person{}) }, wantCode: "agreement_terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := agreement.Load(tt.given)
			err := tt.when(a)
			if tt.wantCode != "" {
				if got := domain.CodeOf(err); got != tt.wantCode {
					t.Fatalf("error = %v (code %q), want code %q", err, got, tt.wantCode)
				}
				if len(a.Changes()) != 0 {
					t.Fatalf("a refused command raised %+v", a.Changes())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(a.Changes(), tt.want) {
				t.Fatalf("changes = %+v\nwant %+v", a.Changes(), tt.want)
			}
		})
	}
}

func TestTimelineAndInForce(t *testing.T) {
	t.Parallel()
	amended := agreement.Load([]domain.Event{pilotAgreement(), agreement.Amended{On: d("2024-05-01"), ValidUntil: d("2024-10-31"), Reason: "shortening", Note: domain.Person{Note: "n"}}})
	terminated := agreement.Load([]domain.Event{pilotAgreement(), agreement.Terminated{On: d("2024-06-30"), Reason: "r"}})
	openSigned := networkAgreement()
	openSigned.ValidUntil = domain.Date{}
	open := agreement.Load([]domain.Event{openSigned})
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "an agreement is in force on its first day", got: amended.InForceOn(d("2024-01-15")), want: true},
		{name: "an agreement is not in force the day before it starts", got: amended.InForceOn(d("2024-01-14")), want: false},
		{name: "an amended agreement is in force on its amended last day", got: amended.InForceOn(d("2024-10-31")), want: true},
		{name: "an amended agreement is out of force after its amended last day", got: amended.InForceOn(d("2024-11-01")), want: false},
		{name: "a terminated agreement is out of force from its termination day", got: terminated.InForceOn(d("2024-06-30")), want: false},
		{name: "the timeline keeps the signing and the amendment before expiry",
			got: amended.Timeline(d("2024-10-31")),
			want: []agreement.Entry{{On: d("2024-01-15"), What: "signed", ValidUntil: d("2024-12-31")},
				{On: d("2024-05-01"), What: "amended", ValidUntil: d("2024-10-31"), Note: "shortening"}}},
		{name: "the timeline adds an expiry once the validity has passed",
			got: amended.Timeline(d("2025-01-01")),
			want: []agreement.Entry{{On: d("2024-01-15"), What: "signed", ValidUntil: d("2024-12-31")},
				{On: d("2024-05-01"), What: "amended", ValidUntil: d("2024-10-31"), Note: "shortening"},
				{On: d("2024-11-01"), What: "expired", ValidUntil: d("2024-10-31")}}},
		{name: "an open-ended agreement is in force decades later and never expires",
			got:  []any{open.InForceOn(d("2060-01-01")), open.Timeline(d("2060-01-01")), open.OpenEnded()},
			want: []any{true, []agreement.Entry{{On: d("2025-02-01"), What: "signed"}}, true}},
		{name: "a terminated agreement's timeline ends with its termination, not an expiry",
			got: terminated.Timeline(d("2026-01-01")),
			want: []agreement.Entry{{On: d("2024-01-15"), What: "signed", ValidUntil: d("2024-12-31")},
				{On: d("2024-06-30"), What: "terminated", ValidUntil: d("2024-12-31"), Note: "r"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", tt.got, tt.want)
			}
		})
	}
}
