package compliance_test

import (
	"fmt"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/compliance"
)

func joined(id string, contact domain.Person) given {
	return given{partner.Stream(partner.ID(id)), partner.Joined{ID: partner.ID(id), Locality: "espoo", Name: id,
		Kind: partner.KindVenue, Category: partner.CategoryCulture, Contact: contact, JoinedOn: d("2024-01-01")}}
}

func TestReport(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	const schema = "compliance_v1"
	mustExec(t, pool, compliance.DDL(schema))
	anna := domain.Person{Subject: "s1", Name: "Anna"}
	feed(t, pool, compliance.New(schema),
		given{guideline.Stream, guideline.National2022()},
		given{locality.Stream("espoo"), locality.Registered{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")}},
		given{locality.Stream("vantaa"), locality.Registered{ID: "vantaa", Name: "Vantaa", Municipalities: []string{"092"}, Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")}},
		given{locality.Stream("espoo"), locality.FeedbackMeetingHeld{HeldOn: d("2024-05-02"), Participants: 14}},
		joined("espoo-ok", anna),
		joined("espoo-nocontact", domain.Person{}),
		joined("espoo-uncommitted", anna),
		given{partner.Stream("espoo-ok"), partner.GuidelineCommitted{GuidelineVersion: "2022", Via: partner.ViaAgreement, On: d("2024-01-01")}},
		given{partner.Stream("espoo-nocontact"), partner.GuidelineCommitted{GuidelineVersion: "2022", Via: partner.ViaAgreement, On: d("2024-01-01")}},
		given{partner.Stream("espoo-uncommitted"), partner.GuidelineCommitted{GuidelineVersion: "2022", Via: partner.ViaWebsite, On: d("2025-03-01")}},
		given{agreement.Stream("a1"), agreement.Signed{ID: "a1", Locality: "espoo", Partner: "espoo-ok", Kind: agreement.KindNetwork, TemplateVersion: "t", ValidFrom: d("2024-01-01"), ValidUntil: d("2025-06-30")}},
		given{agreement.Stream("a2"), agreement.Signed{ID: "a2", Locality: "espoo", Partner: "espoo-uncommitted", Kind: agreement.KindNetwork, TemplateVersion: "t", ValidFrom: d("2024-01-01"), ValidUntil: d("2025-06-30")}},
		given{agreement.Stream("a2"), agreement.Terminated{On: d("2025-03-01")}},
		given{agreement.Stream("a3"), agreement.Signed{ID: "a3", Locality: "espoo", Partner: "espoo-ok", Kind: agreement.KindNetwork, TemplateVersion: "t", ValidFrom: d("2024-01-01"), ValidUntil: d("2025-12-31")}},
		// Until further notice: never expiring.
		given{agreement.Stream("a4"), agreement.Signed{ID: "a4", Locality: "espoo", Partner: "espoo-ok", Kind: agreement.KindNetwork, TemplateVersion: "t", ValidFrom: d("2024-01-01")}},
		given{agreement.Stream("a5"), agreement.Signed{ID: "a5", Locality: "espoo", Partner: "espoo-ok", Kind: agreement.KindNetwork, TemplateVersion: "t", ValidFrom: d("2024-01-01"), ValidUntil: d("2025-05-31")}},
		given{agreement.Stream("a5"), agreement.Amended{On: d("2025-04-01")}},
	)
	q := compliance.NewQueries(pool, schema)
	show := func(r compliance.Report) string {
		var s []string
		for _, f := range r.MissingContact {
			s = append(s, "contact:"+string(f.Partner))
		}
		for _, f := range r.MissingCommitment {
			s = append(s, fmt.Sprintf("commitment:%s/%s", f.Partner, f.Guideline))
		}
		for _, f := range r.NoFeedbackMeeting {
			s = append(s, fmt.Sprintf("meeting:%s/%s", f.Locality, f.LastMeeting))
		}
		for _, f := range r.ExpiringAgreements {
			s = append(s, fmt.Sprintf("expiring:%s/%d", f.Agreement, f.DaysLeft))
		}
		return fmt.Sprint(s)
	}
	tests := []struct {
		name string
		loc  locality.ID
		on   string
		want string
	}{
		{name: "within the first year nothing is due but a missing contact and commitment",
			loc: "espoo", on: "2024-06-01", want: "[contact:espoo-nocontact commitment:espoo-uncommitted/2022]"},
		{name: "a locality without a meeting in the 12 months up to the date is listed with its last meeting",
			on: "2025-05-02", want: "[contact:espoo-nocontact meeting:espoo/2024-05-02 meeting:vantaa/ expiring:a1/59]"},
		{name: "a meeting exactly 12 months earlier no longer counts; one a day later does",
			loc: "espoo", on: "2025-05-01", want: "[contact:espoo-nocontact expiring:a1/60]"},
		{name: "a terminated agreement is not reported as expiring and one beyond 60 days is not yet",
			loc: "espoo", on: "2025-04-30", want: "[contact:espoo-nocontact]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := q.Report(t.Context(), tt.loc, d(tt.on))
			if err != nil || show(r) != tt.want {
				t.Fatalf("Report(%q, %s) = %s, %v; want %s", tt.loc, tt.on, show(r), err, tt.want)
			}
		})
	}
}
