package locality_test

import (
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
)

func d(s string) domain.Date { return domain.MustDate(s) }

func espoo() locality.Registered {
	return locality.Registered{
		ID: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: locality.ScopeNational,
		JoinedOn: d("2024-01-01"), Pilot: &locality.Period{From: d("2024-01-01"), Until: d("2024-12-31")},
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	registered := []domain.Event{espoo()}
	left := []domain.Event{espoo(), locality.Left{On: d("2025-06-30")}}
	anna := domain.Person{Name: "Anna Virtanen", Email: "anna@example.fi"}
	tests := []struct {
		name     string
		given    []domain.Event
		when     func(*locality.Locality) error
		want     []domain.Event
		wantCode string
	}{
		{name: "a new locality is registered",
			when: func(l *locality.Locality) error { return l.Register(espoo()) }, want: []domain.Event{espoo()}},
		{name: "a locality cannot be registered twice", given: registered,
			when: func(l *locality.Locality) error { return l.Register(espoo()) }, wantCode: "locality_exists"},
		{name: "a municipality code must have three digits",
			when: func(l *locality.Locality) error {
				r := espoo()
				r.Municipalities = []string{"49"}
				return l.Register(r)
			}, wantCode: "invalid_municipality"},
		{name: "a scope must be national or local",
			when: func(l *locality.Locality) error { r := espoo(); r.Scope = "regional"; return l.Register(r) }, wantCode: "invalid_scope"},
		{name: "a pilot cannot end before it starts",
			when: func(l *locality.Locality) error {
				r := espoo()
				r.Pilot = &locality.Period{From: d("2024-05-01"), Until: d("2024-04-01")}
				return l.Register(r)
			}, wantCode: "invalid_period"},
		{name: "a malformed id is rejected",
			when: func(l *locality.Locality) error { r := espoo(); r.ID = "es poo"; return l.Register(r) }, wantCode: "invalid_id"},
		{name: "a pilot is concluded", given: registered,
			when: func(l *locality.Locality) error { return l.ConcludePilot(d("2025-01-01")) },
			want: []domain.Event{locality.PilotConcluded{On: d("2025-01-01")}}},
		{name: "a pilot cannot be concluded twice", given: append(registered[:1:1], locality.PilotConcluded{On: d("2025-01-01")}),
			when: func(l *locality.Locality) error { return l.ConcludePilot(d("2025-02-01")) }, wantCode: "pilot_already_concluded"},
		{name: "a locality without a pilot has no pilot to conclude",
			given: []domain.Event{func() locality.Registered { r := espoo(); r.Pilot = nil; return r }()},
			when:  func(l *locality.Locality) error { return l.ConcludePilot(d("2025-01-01")) }, wantCode: "locality_has_no_pilot"},
		{name: "an unregistered locality cannot conclude a pilot",
			when: func(l *locality.Locality) error { return l.ConcludePilot(d("2025-01-01")) }, wantCode: "locality_not_registered"},
		{name: "a locality leaves", given: registered,
			when: func(l *locality.Locality) error { return l.Leave(d("2025-06-30"), "funding_ended", domain.Person{}) },
			want: []domain.Event{locality.Left{On: d("2025-06-30"), Reason: "funding_ended"}}},
		{name: "a locality cannot leave twice", given: left,
			when: func(l *locality.Locality) error { return l.Leave(d("2025-07-30"), "", domain.Person{}) }, wantCode: "locality_left"},
		{name: "a locality cannot leave before it joined", given: registered,
			when: func(l *locality.Locality) error { return l.Leave(d("2023-12-31"), "", domain.Person{}) }, wantCode: "before_joining"},
		{name: "a coordinator is assigned with a stable erasure subject", given: registered,
			when: func(l *locality.Locality) error {
				return l.AssignCoordinator(locality.SideCulture, anna, d("2024-02-01"))
			},
			want: []domain.Event{locality.CoordinatorAssigned{Side: locality.SideCulture, On: d("2024-02-01"),
				Person: domain.Person{Subject: "coordinator:espoo:1", Name: "Anna Virtanen", Email: "anna@example.fi"}}}},
		{name: "the second coordinator gets the next subject",
			given: append(registered[:1:1], locality.CoordinatorAssigned{Side: locality.SideCulture, Person: anna, On: d("2024-02-01")}),
			when: func(l *locality.Locality) error {
				return l.AssignCoordinator(locality.SideSocial, anna, d("2024-02-01"))
			},
			want: []domain.Event{locality.CoordinatorAssigned{Side: locality.SideSocial, On: d("2024-02-01"),
				Person: domain.Person{Subject: "coordinator:espoo:2", Name: "Anna Virtanen", Email: "anna@example.fi"}}}},
		{name: "a coordinator needs a name", given: registered,
			when: func(l *locality.Locality) error {
				return l.AssignCoordinator(locality.SideCulture, domain.Person{}, d("2024-02-01"))
			}, wantCode: "missing_field"},
		{name: "a coordinator's side must be culture or social", given: registered,
			when: func(l *locality.Locality) error { return l.AssignCoordinator("health", anna, d("2024-02-01")) }, wantCode: "invalid_side"},
		{name: "a locality that left gets no coordinator", given: left,
			when: func(l *locality.Locality) error {
				return l.AssignCoordinator(locality.SideCulture, anna, d("2024-02-01"))
			}, wantCode: "locality_left"},
		{name: "a feedback meeting is held", given: registered,
			when: func(l *locality.Locality) error { return l.HoldFeedbackMeeting(d("2024-05-02"), 14) },
			want: []domain.Event{locality.FeedbackMeetingHeld{HeldOn: d("2024-05-02"), Participants: 14}}},
		{name: "a feedback meeting cannot have negative participants", given: registered,
			when: func(l *locality.Locality) error { return l.HoldFeedbackMeeting(d("2024-05-02"), -1) }, wantCode: "invalid_participants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := locality.Load(tt.given)
			err := tt.when(l)
			if tt.wantCode != "" {
				if got := domain.CodeOf(err); got != tt.wantCode {
					t.Fatalf("error = %v (code %q), want code %q", err, got, tt.wantCode)
				}
				if len(l.Changes()) != 0 {
					t.Fatalf("a refused command raised %+v", l.Changes())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(l.Changes(), tt.want) {
				t.Fatalf("changes = %+v\nwant %+v", l.Changes(), tt.want)
			}
		})
	}
}

func TestDerivedState(t *testing.T) {
	t.Parallel()
	local := espoo()
	local.Scope = locality.ScopeLocal
	l := locality.Load([]domain.Event{local,
		locality.PilotConcluded{On: d("2024-10-01")},
		locality.FeedbackMeetingHeld{HeldOn: d("2024-05-02")},
		locality.FeedbackMeetingHeld{HeldOn: d("2024-03-02")},
		locality.Left{On: d("2025-06-30")},
	})
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "the locality is not in the network before it joined", got: l.InNetworkOn(d("2023-12-31")), want: false},
		{name: "the locality is in the network on its joining date", got: l.InNetworkOn(d("2024-01-01")), want: true},
		{name: "the locality is in the network the day before it left", got: l.InNetworkOn(d("2025-06-29")), want: true},
		{name: "the locality is out of the network on the day it left", got: l.InNetworkOn(d("2025-06-30")), want: false},
		{name: "the scope is local while in the network", got: l.ScopeAt(d("2025-01-01")), want: locality.ScopeLocal},
		{name: "there is no scope after leaving", got: l.ScopeAt(d("2025-07-01")), want: locality.Scope("")},
		{name: "the pilot runs up to the day before its conclusion", got: l.IsPilotOn(d("2024-09-30")), want: true},
		{name: "the pilot is over on the day it is concluded", got: l.IsPilotOn(d("2024-10-01")), want: false},
		{name: "the pilot's end moves to the day before an early conclusion", got: l.Facts().PilotEnd(), want: d("2024-09-30")},
		{name: "the last feedback meeting is the latest by date, not by arrival", got: l.LastFeedbackMeeting(), want: d("2024-05-02")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestCoordinatorPersonalDataIsStoredApart(t *testing.T) {
	t.Parallel()
	e := locality.CoordinatorAssigned{Side: locality.SideSocial, On: d("2024-02-01"),
		Person: domain.Person{Subject: "coordinator:espoo:1", Name: "Anna Virtanen", Phone: "040 123"}}
	rec, err := domain.Encode(e, domain.Metadata{Principal: domain.System})
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Data) != `{"side":"social","on":"2024-02-01"}` {
		t.Fatalf("Data = %s; the name must not be in it", rec.Data)
	}
	if rec.Subject != "coordinator:espoo:1" || len(rec.Personal) == 0 {
		t.Fatalf("Subject = %q, Personal = %s", rec.Subject, rec.Personal)
	}
	back, err := domain.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Fatalf("decoded %+v, want %+v", back, e)
	}
}
