package stats_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/disclosure"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections/stats"
)

func d(s string) domain.Date { return domain.MustDate(s) }

// testLog is a real PostgreSQL log the tests append events to.
type testLog struct {
	tb    testing.TB
	pool  *pgxpool.Pool
	store *postgres.Store
	last  domain.Position // the highest position appended
}

// settle waits until readers can see every event appended so far: the
// store's fence is cluster wide, so a transaction left open by any other
// test on the server holds it back for a while.
func (l *testLog) settle() {
	l.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		head, err := l.store.Head(ctx)
		if err != nil {
			l.tb.Fatalf("the log never became readable up to %d: %v", l.last, err)
		}
		if head >= l.last {
			return
		}
		select {
		case <-ctx.Done():
			l.tb.Fatalf("the log never became readable up to %d (head %d)", l.last, head)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func newLog(tb testing.TB) *testLog {
	tb.Helper()
	pool := pgtest.NewPool(tb)
	store := postgres.NewStore(pool)
	tb.Cleanup(store.Close)
	return &testLog{tb: tb, pool: pool, store: store}
}

// add appends ev to stream and returns it as stored.
func (l *testLog) add(stream domain.StreamID, ev domain.Event) domain.Record {
	l.tb.Helper()
	rec, err := domain.Encode(ev, domain.Metadata{Principal: domain.System})
	if err != nil {
		l.tb.Fatal(err)
	}
	out, err := l.store.Append(context.Background(), stream, domain.AnyVersion, rec)
	if err != nil {
		l.tb.Fatalf("append %s to %s: %v", ev.EventName(), stream, err)
	}
	l.last = max(l.last, out[0].Position)
	return out[0]
}

func holder(birthYear int, postal string) card.Holder {
	return card.Holder{BirthYear: birthYear, PostalCode: postal, MinorChildren: 3}
}

func issued(id card.ID, issuer partner.ID, loc locality.ID, on string, h card.Holder) card.Issued {
	return card.Issued{Card: id, Issuer: issuer, Locality: loc, IssuedOn: d(on), Kind: card.KindPersonal, Holder: h}
}

func use(id card.UseID, venue partner.ID, loc locality.ID, on, category string, kind card.UseKind, child int) card.UseRecorded {
	return card.UseRecorded{Use: id, Venue: venue, VenueLocality: loc, UsedOn: d(on), Category: category, Kind: kind, ChildTickets: child}
}

// rules2015 is an older guideline under which children's tickets came
// with courses too.
func rules2015() guideline.Revised {
	r := guideline.National2022()
	r.Version, r.AdoptedOn, r.EffectiveFrom = "2015", d("2014-12-01"), d("2015-01-01")
	r.Rules.ChildTicketsForCourses = true
	r.Rules.ChildTicketMaxAge = 15
	return r
}

// rules2024 lowers the small-cell threshold to 3 from 2024.
func rules2024() guideline.Revised {
	r := guideline.National2022()
	r.Version, r.AdoptedOn, r.EffectiveFrom = "2024", d("2023-12-01"), d("2024-01-01")
	r.Rules.SmallCellThreshold = 3
	return r
}

// scenario writes the small network every test counts. The national
// figures for 2024, by hand:
//
//	cardsRegistered 4   K1, K3, K5, K6 (K2 issued in 2023 and renewed in 2024,
//	                    K4 a replacement of K3, K7 issued in 2025)
//	cardsUsed       4   K1, K2, K3/K4 (one holder), K5
//	adultUses       6   K1u1 culture, K1u2 education course, K2u1 sport,
//	                    K3u1 culture, K4u1 science, K5u1 culture
//	                    (K1u3 and K5u2 cancelled, K2u2 in 2023)
//	childTickets    6   K1u1 2 + K4u1 1 + K5u1 3 (culture 5, science 1)
//	municipalities  5   049 Espoo, 205/765/290 Kainuu, 405 Lappeenranta (left
//	                    on 2025-01-01); not 740 Savonlinna (left 2024-06-30)
//	                    nor 091 Helsinki (joined 2025)
//
// It returns the record time just before K1u3 was cancelled (the last
// event).
func scenario(l *testLog) (beforeCancel time.Time) {
	gl := guideline.Stream
	l.add(gl, rules2015())
	l.add(gl, guideline.National2022())
	l.add(gl, rules2024())
	for _, r := range []locality.Registered{
		{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"}, Scope: locality.ScopeNational, JoinedOn: d("2015-01-01")},
		{ID: "kainuu", Name: "Kainuu", Municipalities: []string{"205", "765", "290"}, Scope: locality.ScopeNational, JoinedOn: d("2024-03-01")},
		{ID: "savonlinna", Name: "Savonlinna", Municipalities: []string{"740"}, Scope: locality.ScopeLocal, JoinedOn: d("2018-02-01")},
		{ID: "lappeenranta", Name: "Lappeenranta", Municipalities: []string{"405"}, Scope: locality.ScopeNational, JoinedOn: d("2024-01-01")},
		{ID: "helsinki", Name: "Helsinki", Municipalities: []string{"091"}, Scope: locality.ScopeNational, JoinedOn: d("2025-02-01")},
	} {
		l.add(locality.Stream(r.ID), r)
	}
	l.add(locality.Stream("savonlinna"), locality.Left{On: d("2024-06-30")})
	l.add(locality.Stream("lappeenranta"), locality.Left{On: d("2025-01-01")})
	l.add(partner.Stream("espoo-sos-1"), partner.Joined{ID: "espoo-sos-1", Locality: "espoo", Name: "Espoo sos", Kind: partner.KindIssuer, Category: partner.CategorySocial, JoinedOn: d("2015-01-01")})

	c := func(id card.ID) domain.StreamID { return card.Stream(id) }
	l.add(c("K8"), issued("K8", "espoo-sos-1", "espoo", "2021-03-01", holder(1960, "02400")))
	l.add(c("K8"), use("u1", "espoo-opisto", "espoo", "2021-04-01", "education", card.UseCourse, 2)) // allowed by the 2015 rules
	l.add(c("K2"), issued("K2", "espoo-sos-1", "espoo", "2023-11-01", holder(1950, "02100")))
	l.add(c("K2"), use("u2", "espoo-museum", "espoo", "2023-12-15", "culture", card.UseEvent, 0))
	l.add(c("K1"), issued("K1", "espoo-sos-1", "espoo", "2024-01-10", holder(1990, "02100")))
	l.add(c("K2"), use("u1", "espoo-uimahalli", "espoo", "2024-01-15", "sport", card.UseEvent, 0))
	l.add(c("K1"), use("u1", "espoo-museum", "espoo", "2024-02-01", "culture", card.UseEvent, 2))
	l.add(c("K3"), issued("K3", "espoo-sos-1", "espoo", "2024-02-01", holder(2000, "02200")))
	l.add(c("K1"), use("u2", "espoo-opisto", "espoo", "2024-03-01", "education", card.UseCourse, 0))
	l.add(c("K3"), use("u1", "espoo-museum", "espoo", "2024-03-01", "culture", card.UseEvent, 0))
	l.add(c("K5"), issued("K5", "kainuu-sos-1", "kainuu", "2024-03-01", holder(1980, "87100")))
	l.add(c("K1"), use("u3", "espoo-museum", "espoo", "2024-04-01", "culture", card.UseEvent, 1))
	l.add(c("K5"), use("u1", "kainuu-teatteri", "kainuu", "2024-04-10", "culture", card.UseEvent, 3))
	l.add(c("K5"), use("u2", "kainuu-teatteri", "kainuu", "2024-04-11", "culture", card.UseEvent, 0))
	l.add(c("K5"), card.UseCancelled{Use: "u2", Reason: "recorded twice", On: d("2024-04-11")})
	l.add(c("K3"), card.Replaced{NewCard: "K4", On: d("2024-05-01")})
	l.add(c("K4"), card.ReplacementIssued{Card: "K4", ReplacesCard: "K3", Issuer: "espoo-sos-1", Locality: "espoo",
		IssuedOn: d("2024-05-01"), Kind: card.KindPersonal, Holder: holder(2000, "02200")})
	l.add(c("K4"), use("u1", "espoo-tiedekeskus", "espoo", "2024-06-01", "science", card.UseEvent, 1))
	l.add(c("K2"), card.Renewed{On: d("2024-11-01"), ValidUntil: d("2025-10-31")})
	l.add(c("K6"), issued("K6", "espoo-sos-1", "espoo", "2024-12-31", holder(2005, "02100")))
	last := l.add(c("K7"), issued("K7", "espoo-sos-1", "espoo", "2025-01-01", holder(1970, "02100")))
	time.Sleep(2 * time.Millisecond) // so that the cancellation's record time is later
	l.add(c("K1"), card.UseCancelled{Use: "u3", Reason: "wrong card", On: d("2024-05-02")})
	l.settle()
	return last.RecordedAt
}

func national2024() stats.NationalTable {
	return stats.NationalTable{
		Year: 2024, CardsRegistered: 4, CardsUsed: 4, AdultUses: 6, ChildTickets: 6, TotalUses: 12,
		AdultUsesByCategory:    map[string]int64{"culture": 3, "education": 1, "science": 1, "sport": 1},
		ChildTicketsByCategory: map[string]int64{"culture": 5, "education": 0, "science": 1, "sport": 0},
		Municipalities:         5,
	}
}

func national2023() stats.NationalTable {
	return stats.NationalTable{
		Year: 2023, CardsRegistered: 1, CardsUsed: 1, AdultUses: 1, ChildTickets: 0, TotalUses: 1,
		AdultUsesByCategory:    map[string]int64{"culture": 1, "education": 0, "science": 0, "sport": 0},
		ChildTicketsByCategory: map[string]int64{"culture": 0, "education": 0, "science": 0, "sport": 0},
		Municipalities:         2, // 049 Espoo, 740 Savonlinna
	}
}

// build creates schema, fills it from l's log with Replay and returns its
// queries.
func build(tb testing.TB, l *testLog, schema string, pageSize int, opts ...stats.Option) *stats.Queries {
	tb.Helper()
	ctx := context.Background()
	p := stats.New(schema, opts...)
	if err := stats.CreateSchema(ctx, l.pool, schema); err != nil {
		tb.Fatal(err)
	}
	if err := p.Init(ctx, l.pool); err != nil {
		tb.Fatal(err)
	}
	if _, err := stats.Replay(ctx, l.pool, l.store, p, stats.ReplayOptions{PageSize: pageSize}); err != nil {
		tb.Fatalf("replay: %v", err)
	}
	return stats.NewQueries(l.pool, schema)
}

// buildOneByOne drives a projection without batch flush the way a simple
// runtime would: one transaction per event.
func buildOneByOne(tb testing.TB, l *testLog, schema string) *stats.Queries {
	tb.Helper()
	ctx := context.Background()
	p := stats.New(schema)
	if err := stats.CreateSchema(ctx, l.pool, schema); err != nil {
		tb.Fatal(err)
	}
	recs, err := l.store.ReadAll(ctx, 0, 10000)
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		ev, err := domain.Decode(rec)
		if err != nil {
			tb.Fatal(err)
		}
		tx, err := l.pool.Begin(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if err := p.Handle(ctx, tx, rec, ev); err != nil {
			tb.Fatalf("handle %s: %v", rec.Name(), err)
		}
		if err := tx.Commit(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return stats.NewQueries(l.pool, schema)
}

func TestNationalTable(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	scenario(l)
	tests := []struct {
		name  string
		build func() *stats.Queries
	}{
		{name: "a replay in one transaction counts the hand-computed figures", build: func() *stats.Queries { return build(t, l, "stats_v1", 5000) }},
		{name: "a replay in pages of two counts the same, cancelling uses already written", build: func() *stats.Queries { return build(t, l, "stats_v2", 2) }},
		{name: "one transaction per event without batch flush counts the same", build: func() *stats.Queries { return buildOneByOne(t, l, "stats_v3") }},
		{name: "a schema name that needs quoting works", build: func() *stats.Queries { return build(t, l, `Stats "odd"-v4`, 7) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.build()
			for _, want := range []stats.NationalTable{national2024(), national2023()} {
				got, err := q.National(context.Background(), want.Year)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("National(%d) =\n%+v\nwant\n%+v", want.Year, got, want)
				}
			}
		})
	}
}

func TestNationalTableJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(national2023())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"year":2023,"cardsRegistered":1,"cardsUsed":1,"adultUses":1,"childTickets":0,"totalUses":1,` +
		`"adultUsesByCategory":{"culture":1,"education":0,"science":0,"sport":0},` +
		`"childTicketsByCategory":{"culture":0,"education":0,"science":0,"sport":0},"municipalities":2}`
	if string(b) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b, want)
	}
}

func n(v int64) *int64 { return &v }

func TestBreakdown(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	scenario(l)
	q := build(t, l, "stats_live", 5000)
	y2024 := stats.Filter{From: d("2024-01-01"), To: d("2024-12-31")}
	type query struct {
		stats.Filter
		suppress bool
	}
	with := func(f stats.Filter, g stats.GroupBy, loc locality.ID, suppress bool) query {
		f.GroupBy, f.Locality = g, loc
		return query{f, suppress}
	}
	row := func(key string, reg *int64, used, adult, child int64) stats.Row {
		return stats.Row{Key: key, CardsRegistered: reg, CardsUsed: n(used), AdultUses: n(adult), ChildTickets: n(child), TotalUses: n(adult + child)}
	}
	hidden := func(key string, reg *int64) stats.Row {
		return stats.Row{Key: key, CardsRegistered: reg, Suppressed: true}
	}
	tests := []struct {
		name   string
		filter query
		want   []stats.Row
	}{
		{name: "uses count at the venue's locality and cards at the issuer's", filter: with(y2024, stats.ByLocality, "", false),
			want: []stats.Row{row("espoo", n(3), 3, 5, 3), row("kainuu", n(1), 1, 1, 3)}},
		{name: "venues have no registrations", filter: with(y2024, stats.ByVenue, "", false),
			want: []stats.Row{row("espoo-museum", nil, 2, 2, 2), row("espoo-opisto", nil, 1, 1, 0), row("espoo-tiedekeskus", nil, 1, 1, 1),
				row("espoo-uimahalli", nil, 1, 1, 0), row("kainuu-teatteri", nil, 1, 1, 3)}},
		{name: "uses group by the issuer of their card", filter: with(y2024, stats.ByIssuer, "", false),
			want: []stats.Row{row("espoo-sos-1", n(3), 3, 5, 3), row("kainuu-sos-1", n(1), 1, 1, 3)}},
		{name: "a locality's months show its registrations and its venues' uses", filter: with(y2024, stats.ByMonth, "kainuu", false),
			want: []stats.Row{row("2024-03", n(1), 0, 0, 0), row("2024-04", n(0), 1, 1, 3)}},
		{name: "age groups follow the bands in their numeric order", filter: with(y2024, stats.ByAgeGroup, "", false),
			want: []stats.Row{row("16-24", n(2), 1, 2, 1), row("25-34", n(1), 1, 2, 2), row("35-49", n(1), 1, 1, 3), row("65+", n(0), 1, 1, 0)}},
		{name: "postal areas are the first three digits", filter: with(y2024, stats.ByPostalArea, "espoo", false),
			want: []stats.Row{row("021", n(2), 2, 3, 2), row("022", n(1), 1, 2, 1)}},
		{name: "categories split the uses", filter: with(y2024, stats.ByCategory, "", false),
			want: []stats.Row{row("culture", nil, 3, 3, 5), row("education", nil, 1, 1, 0), row("science", nil, 1, 1, 1), row("sport", nil, 1, 1, 0)}},
		{name: "a date range inside a year counts only its days", filter: with(stats.Filter{From: d("2024-03-01"), To: d("2024-03-31")}, stats.ByLocality, "", false),
			want: []stats.Row{row("espoo", n(0), 2, 2, 0), row("kainuu", n(1), 0, 0, 0)}},
		{name: "suppression hides cells below the 2024 threshold of three", filter: with(y2024, stats.ByLocality, "", true),
			want: []stats.Row{row("espoo", n(3), 3, 5, 3), hidden("kainuu", nil)}},
		{name: "suppression hides all of adult, child and total uses when one is small", filter: with(y2024, stats.ByCategory, "", true),
			// Culture's uses go too (secondary suppression): science's one
			// child ticket would otherwise be the total minus culture's five.
			want: []stats.Row{{Key: "culture", CardsUsed: n(3), Suppressed: true},
				hidden("education", nil), hidden("science", nil), hidden("sport", nil)}},
		{name: "suppression keeps zeros, which identify no one", filter: with(y2024, stats.ByMonth, "espoo", true),
			want: []stats.Row{hidden("2024-01", nil), hidden("2024-02", nil), hidden("2024-03", n(0)), hidden("2024-06", n(0)),
				{Key: "2024-12", CardsUsed: n(0), AdultUses: n(0), ChildTickets: n(0), TotalUses: n(0), Suppressed: true}}},
		{name: "a column whose small cells no other cell can cover is hidden whole, zeros too", filter: with(y2024, stats.ByMonth, "kainuu", true),
			want: []stats.Row{hidden("2024-03", nil), hidden("2024-04", nil)}},
		{name: "suppression uses the threshold in force at the end of the range", filter: with(stats.Filter{From: d("2023-01-01"), To: d("2023-12-31")}, stats.ByLocality, "", true),
			want: []stats.Row{hidden("espoo", nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			got, err := q.Breakdown(ctx, tt.filter.Filter)
			if err != nil {
				t.Fatal(err)
			}
			if tt.filter.suppress {
				threshold, err := q.Threshold(ctx, tt.filter.To.Year())
				if err != nil {
					t.Fatal(err)
				}
				p, _ := disclosure.For(domain.RoleCoordinator, threshold)
				stats.Suppress(got, tt.filter.GroupBy, p)
			}
			if !reflect.DeepEqual(got, tt.want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(tt.want)
				t.Fatalf("Breakdown(%+v) =\n%s\nwant\n%s", tt.filter, gj, wj)
			}
		})
	}
}
