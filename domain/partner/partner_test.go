package partner_test

import (
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func d(s string) domain.Date { return domain.MustDate(s) }

var espoo = locality.Facts{ID: "espoo", Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")}

var anna = domain.Person{Name: "Anna Virtanen", Email: "anna@example.fi"}

func issuer() partner.Joined {
	return partner.Joined{ID: "espoo-sos-1", Locality: "espoo", Name: "Espoon sosiaalitoimisto", Kind: partner.KindIssuer,
		Category: partner.CategorySocial, Contact: anna, JoinedOn: d("2024-01-15")}
}

func venue() partner.Joined {
	j := issuer()
	j.ID, j.Name, j.Kind, j.Category = "espoo-museum", "Espoon museo", partner.KindVenue, partner.CategoryCulture
	return j
}

func withSubject(p domain.Person, s string) domain.Person { p.Subject = s; return p }

func TestCommands(t *testing.T) {
	t.Parallel()
	joinedIssuer := []domain.Event{func() partner.Joined { j := issuer(); j.Contact = withSubject(anna, "contact:espoo-sos-1:1"); return j }()}
	joinedVenue := []domain.Event{venue()}
	leftIssuer := append(joinedIssuer[:1:1], partner.Left{On: d("2025-01-01")})
	g2022 := guideline.National2022()
	bert := domain.Person{Name: "Bert Lindqvist", Phone: "040 1"}
	tests := []struct {
		name     string
		given    []domain.Event
		when     func(*partner.Partner) error
		want     []domain.Event
		wantCode string
	}{
		{name: "an issuer joins with its contact person numbered one",
			when: func(p *partner.Partner) error { return p.Join(issuer(), espoo) },
			want: []domain.Event{func() partner.Joined { j := issuer(); j.Contact = withSubject(anna, "contact:espoo-sos-1:1"); return j }()}},
		{name: "a partner cannot join twice", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.Join(issuer(), espoo) }, wantCode: "partner_exists"},
		{name: "a partner cannot join without a contact person",
			when: func(p *partner.Partner) error {
				j := issuer()
				j.Contact = domain.Person{Email: "x@y.fi"}
				return p.Join(j, espoo)
			}, wantCode: "contact_required"},
		{name: "an issuer cannot have a venue category",
			when: func(p *partner.Partner) error {
				j := issuer()
				j.Category = partner.CategoryCulture
				return p.Join(j, espoo)
			}, wantCode: "invalid_category"},
		{name: "a venue cannot have an issuer category",
			when: func(p *partner.Partner) error {
				j := venue()
				j.Category = partner.CategoryNGO
				return p.Join(j, espoo)
			}, wantCode: "invalid_category"},
		{name: "a partner cannot join an unregistered locality",
			when: func(p *partner.Partner) error { return p.Join(issuer(), locality.Facts{}) }, wantCode: "locality_not_registered"},
		{name: "a partner cannot join before its locality joined",
			when: func(p *partner.Partner) error { j := issuer(); j.JoinedOn = d("2023-06-01"); return p.Join(j, espoo) }, wantCode: "locality_not_in_network"},
		{name: "an issuer is approved", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.ApproveIssuer(d("2024-02-01")) },
			want: []domain.Event{partner.IssuerApproved{On: d("2024-02-01")}}},
		{name: "an issuer is approved only once", given: append(joinedIssuer[:1:1], partner.IssuerApproved{On: d("2024-02-01")}),
			when: func(p *partner.Partner) error { return p.ApproveIssuer(d("2024-03-01")) }, wantCode: "issuer_already_approved"},
		{name: "a venue is never approved", given: joinedVenue,
			when: func(p *partner.Partner) error { return p.ApproveIssuer(d("2024-02-01")) }, wantCode: "not_an_issuer"},
		{name: "an issuer cannot be approved before it joined", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.ApproveIssuer(d("2024-01-14")) }, wantCode: "before_joining"},
		{name: "an unknown partner cannot be approved",
			when: func(p *partner.Partner) error { return p.ApproveIssuer(d("2024-02-01")) }, wantCode: "partner_not_joined"},
		{name: "a contact change replaces the contact with the next numbered person", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.ChangeContact(bert, d("2024-06-01")) },
			want: []domain.Event{partner.ContactChanged{Contact: withSubject(bert, "contact:espoo-sos-1:2"), On: d("2024-06-01")}}},
		{name: "a contact change cannot leave the partner without a contact", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.ChangeContact(domain.Person{Name: "  "}, d("2024-06-01")) }, wantCode: "contact_required"},
		{name: "a partner commits to a guideline version", given: joinedIssuer,
			when: func(p *partner.Partner) error {
				return p.CommitToGuideline(g2022, partner.ViaAgreement, d("2024-01-15"))
			},
			want: []domain.Event{partner.GuidelineCommitted{GuidelineVersion: "2022", Via: partner.ViaAgreement, On: d("2024-01-15")}}},
		{name: "a partner cannot commit to an unknown guideline version", given: joinedIssuer,
			when: func(p *partner.Partner) error {
				return p.CommitToGuideline(guideline.Revised{}, partner.ViaAgreement, d("2024-01-15"))
			}, wantCode: "unknown_guideline_version"},
		{name: "a partner commits to a version only once",
			given: append(joinedIssuer[:1:1], partner.GuidelineCommitted{GuidelineVersion: "2022", Via: partner.ViaWebsite, On: d("2024-01-15")}),
			when: func(p *partner.Partner) error {
				return p.CommitToGuideline(g2022, partner.ViaAgreement, d("2024-03-01"))
			}, wantCode: "already_committed"},
		{name: "a commitment must be made via a known channel", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.CommitToGuideline(g2022, "fax", d("2024-03-01")) }, wantCode: "invalid_via"},
		{name: "a partner leaves", given: joinedIssuer,
			when: func(p *partner.Partner) error { return p.Leave(d("2025-01-01"), "closed", domain.Person{}) },
			want: []domain.Event{partner.Left{On: d("2025-01-01"), Reason: "closed"}}},
		{name: "a partner that left cannot leave again", given: leftIssuer,
			when: func(p *partner.Partner) error { return p.Leave(d("2025-02-01"), "", domain.Person{}) }, wantCode: "partner_left"},
		{name: "a partner that left cannot change its contact, even for an earlier date", given: leftIssuer,
			when: func(p *partner.Partner) error { return p.ChangeContact(bert, d("2024-06-01")) }, wantCode: "partner_left"},
		{name: "a partner that left cannot commit to the guideline", given: leftIssuer,
			when: func(p *partner.Partner) error {
				return p.CommitToGuideline(g2022, partner.ViaAgreement, d("2024-06-01"))
			}, wantCode: "partner_left"},
		{name: "a partner that left cannot be approved", given: leftIssuer,
			when: func(p *partner.Partner) error { return p.ApproveIssuer(d("2024-06-01")) }, wantCode: "partner_left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := partner.Load(tt.given)
			err := tt.when(p)
			if tt.wantCode != "" {
				if got := domain.CodeOf(err); got != tt.wantCode {
					t.Fatalf("error = %v (code %q), want code %q", err, got, tt.wantCode)
				}
				if len(p.Changes()) != 0 {
					t.Fatalf("a refused command raised %+v", p.Changes())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(p.Changes(), tt.want) {
				t.Fatalf("changes = %+v\nwant %+v", p.Changes(), tt.want)
			}
		})
	}
}

func TestFacts(t *testing.T) {
	t.Parallel()
	f := partner.Load([]domain.Event{issuer(),
		partner.IssuerApproved{On: d("2024-02-01")},
		partner.GuidelineCommitted{GuidelineVersion: "2022", Via: partner.ViaRegister, On: d("2024-03-01")},
		partner.Left{On: d("2025-01-01")},
	}).Facts()
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{name: "the partner is not active before it joined", got: f.ActiveOn(d("2024-01-14")), want: false},
		{name: "the partner is active the day before it left", got: f.ActiveOn(d("2024-12-31")), want: true},
		{name: "the partner is not active on the day it left", got: f.ActiveOn(d("2025-01-01")), want: false},
		{name: "the partner had left by its leaving day", got: f.LeftBy(d("2025-01-01")), want: true},
		{name: "the issuer is not approved the day before approval", got: f.ApprovedBy(d("2024-01-31")), want: false},
		{name: "the issuer is approved from its approval day", got: f.ApprovedBy(d("2024-02-01")), want: true},
		{name: "the partner had not committed before its commitment", got: f.CommittedBy(d("2024-02-29")), want: false},
		{name: "the partner has committed from its commitment day", got: f.CommittedBy(d("2024-03-01")), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestContactIsStoredApartFromTheEvent(t *testing.T) {
	t.Parallel()
	e := partner.ContactChanged{Contact: withSubject(anna, "contact:espoo-sos-1:2"), On: d("2024-06-01")}
	rec, err := domain.Encode(e, domain.Metadata{Principal: domain.System})
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Data) != `{"on":"2024-06-01"}` || rec.Subject != "contact:espoo-sos-1:2" {
		t.Fatalf("Data = %s, Subject = %q", rec.Data, rec.Subject)
	}
	back, err := domain.Decode(rec)
	if err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("decoded %+v, %v; want %+v", back, err, e)
	}
}
