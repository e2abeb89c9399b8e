package projections_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/compliance"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// Every read model decodes every value the domain accepts: events of every
// type, their fields drawn across the whole range Encode lets through
// (dates from 1900 to 2199, the longest texts, quotes, backslashes and
// multi-byte characters, every code, the bounds of every count), are
// appended to a real log, and every read model catches up without an
// error, in any order of events.
func TestEveryReadModelTakesEveryValueTheDomainAccepts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	for _, ddl := range []string{contacts.DDL("contacts_p"), commitments.DDL("commitments_p"), agreements.DDL("agreements_p"),
		history.DDL("history_p"), compliance.DDL("compliance_p"), network.DDL("network_p"), cards.DDL("cards_p")} {
		if _, err := pool.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"stats_p", "stats_pr"} {
		if err := stats.CreateSchema(ctx, pool, s); err != nil {
			t.Fatal(err)
		}
	}
	ps := []projections.Projection{stats.New("stats_p"), stats.New("stats_pr", stats.WithRules(guideline.National2022().Rules)),
		contacts.New("contacts_p"), commitments.New("commitments_p"), agreements.New("agreements_p"),
		history.New("history_p"), compliance.New("compliance_p"), network.New("network_p"), cards.New("cards_p")}
	runner, err := projections.NewRunner(projections.Config{DB: pool, Store: store}, ps...)
	if err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	g := &valueGen{r: rand.New(rand.NewPCG(seed, 1))}
	// Each round builds a small world whose events come in an order the
	// domain allows (an aggregate's first event first, its last last), with
	// every value drawn anew.
	creations := []domain.Event{guideline.Revised{}, locality.Registered{}, partner.Joined{}, agreement.Signed{}, card.Issued{}}
	middles := []domain.Event{locality.PilotConcluded{}, locality.CoordinatorAssigned{}, locality.FeedbackMeetingHeld{},
		partner.IssuerApproved{}, partner.ContactChanged{}, partner.GuidelineCommitted{}, agreement.Amended{},
		card.Renewed{}, card.DetailsCorrected{}, card.UseRecorded{}, card.UseCancelled{}}
	endings := []domain.Event{card.Replaced{}, card.ReplacementIssued{}, card.Cancelled{}, agreement.Terminated{}, partner.Left{}, locality.Left{}}
	const rounds = 12
	appended := 0
	for round := range rounds {
		w := world{locality: locality.ID(fmt.Sprintf("l%d", round)), partner: partner.ID(fmt.Sprintf("p%d", round)),
			agreement: agreement.ID(fmt.Sprintf("a%d", round)), card: card.ID(fmt.Sprintf("K-%04d", round)), use: card.UseID(fmt.Sprintf("u%d", round))}
		var evs []domain.Event
		evs = append(evs, creations...)
		for _, i := range g.r.Perm(len(middles)) {
			evs = append(evs, middles[i])
		}
		evs = append(evs, endings...)
		for _, kind := range evs {
			ev := w.place(g.event(kind))
			rec, err := domain.Encode(ev, domain.Metadata{Principal: domain.System, CorrelationID: domain.NewEventID(),
				OccurredAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatalf("the generator made an event Encode refuses (fix the generator): %T %+v: %v", ev, ev, err)
			}
			if _, err := store.Append(ctx, w.stream(ev), domain.AnyVersion, rec); err != nil {
				t.Fatal(err)
			}
			appended++
		}
	}
	// The log's fence is server wide: another test's open transaction can
	// hold events back for a moment, so catch up until nothing is behind.
	var st []projections.Status
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		for _, p := range ps {
			if err := runner.CatchUp(ctx, p.Name()); err != nil {
				t.Fatalf("read model %s stopped on a value the domain accepts: %v", p.Name(), err)
			}
		}
		if st, err = runner.Status(ctx); err != nil {
			t.Fatal(err)
		}
		behind := false
		for _, s := range st {
			behind = behind || s.LagEvents > 0
		}
		if !behind || time.Now().After(deadline) {
			break
		}
	}
	for _, s := range st {
		if s.State == projections.StateFailed || s.Skipped > 0 || s.LagEvents > 0 {
			t.Errorf("%s after %d events: state %s, %d skipped, %d behind", s.Name, appended, s.State, s.Skipped, s.LagEvents)
		}
	}
}

// world names the aggregates of one round; every id an event carries
// points into it, as the domain's commands make sure.
type world struct {
	locality  locality.ID
	partner   partner.ID
	agreement agreement.ID
	card      card.ID
	use       card.UseID
}

func (w world) replacement() card.ID { return w.card + "R" }

// place sets every id of ev to the round's aggregates.
func (w world) place(ev domain.Event) domain.Event {
	v := reflect.New(reflect.TypeOf(ev)).Elem()
	v.Set(reflect.ValueOf(ev))
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Type() {
		case reflect.TypeFor[locality.ID]():
			f.SetString(string(w.locality))
		case reflect.TypeFor[partner.ID]():
			f.SetString(string(w.partner))
		case reflect.TypeFor[agreement.ID]():
			f.SetString(string(w.agreement))
		case reflect.TypeFor[card.ID]():
			f.SetString(string(w.card))
		case reflect.TypeFor[card.UseID]():
			f.SetString(string(w.use))
		}
	}
	out := v.Interface().(domain.Event)
	switch e := out.(type) {
	case card.Replaced:
		e.NewCard = w.replacement()
		return e
	case card.ReplacementIssued:
		e.Card, e.ReplacesCard = w.replacement(), w.card
		return e
	}
	return out
}

// stream is the stream the domain appends ev to.
func (w world) stream(ev domain.Event) domain.StreamID {
	name := ev.EventName()
	switch name[:strings.IndexByte(name, '.')] {
	case "locality":
		return locality.Stream(w.locality)
	case "partner":
		return partner.Stream(w.partner)
	case "agreement":
		return agreement.Stream(w.agreement)
	case "guideline":
		return guideline.Stream
	}
	if _, ok := ev.(card.ReplacementIssued); ok {
		return card.Stream(w.replacement())
	}
	return card.Stream(w.card)
}

// valueGen fills an event's fields with values from across what the domain
// accepts.
type valueGen struct{ r *rand.Rand }

var (
	dateType   = reflect.TypeFor[domain.Date]()
	personType = reflect.TypeFor[domain.Person]()
	// closed lists of the domain's typed codes
	codes = map[reflect.Type][]string{
		reflect.TypeFor[partner.Kind]():      {"issuer", "venue"},
		reflect.TypeFor[partner.Category]():  {"social", "health", "wellbeing", "ngo", "culture", "education", "science", "sport"},
		reflect.TypeFor[partner.Via]():       {"agreement", "brochure", "website", "register"},
		reflect.TypeFor[card.Kind]():         {"personal", "community"},
		reflect.TypeFor[card.UseKind]():      {"event", "course"},
		reflect.TypeFor[locality.Scope]():    {"national", "local"},
		reflect.TypeFor[locality.Side]():     {"culture", "social"},
		reflect.TypeFor[agreement.Kind]():    {"pilot", "network"},
		reflect.TypeFor[guideline.Version](): {"2015", "2022", "v.1-x_2"},
	}
	ids = map[reflect.Type]bool{
		reflect.TypeFor[card.ID](): true, reflect.TypeFor[card.UseID](): true, reflect.TypeFor[partner.ID](): true,
		reflect.TypeFor[locality.ID](): true, reflect.TypeFor[agreement.ID](): true,
	}
	// ints the domain bounds by field name; others take 0–1,000,000
	intRanges = map[string][2]int{
		"BirthYear": {1900, 2199}, "MinorChildren": {0, 30}, "ChildTickets": {0, 30}, "Participants": {1, 10_000},
		"MinHolderAge": {0, 120}, "CardValidityMonths": {1, 120}, "ChildTicketMaxAge": {0, 25}, "SmallCellThreshold": {1, 1000},
	}
	texts = []string{"", "a", "Kulttuurikeskus Äänekoski", `'; DROP TABLE events; --`, `100% _under_ \backslash\`, `"quoted"`,
		"emoji 🎭🏊", "line\nfeed", strings.Repeat("ä", 2000), strings.Repeat("x", 4000), "null", "{}", "NaN"}
)

func (g *valueGen) event(zero domain.Event) domain.Event {
	v := reflect.New(reflect.TypeOf(zero)).Elem()
	g.fill(v, "")
	return v.Interface().(domain.Event)
}

func (g *valueGen) fill(v reflect.Value, name string) {
	t := v.Type()
	switch {
	case t == dateType:
		ds := []domain.Date{domain.NewDate(1900, 1, 1), domain.FirstBusinessDate, domain.NewDate(2024, 2, 29),
			domain.NewDate(2024, 12, 31), domain.NewDate(2199, 12, 31)}
		v.Set(reflect.ValueOf(ds[g.r.IntN(len(ds))]))
		return
	case t == personType:
		v.Set(reflect.ValueOf(domain.Person{Subject: "s:" + fmt.Sprint(g.r.IntN(9)), Name: g.text(), Email: "a.b@example.fi",
			Phone: "+358 40 123 4567", Note: g.text()}))
		return
	case codes[t] != nil:
		list := codes[t]
		v.SetString(list[g.r.IntN(len(list))])
		return
	case ids[t]:
		v.SetString(g.pick("p0", "K-0000001", "a", strings.Repeat("Z", 64), "x.y_z-1"))
		return
	}
	switch t.Kind() {
	case reflect.String:
		if name == "Category" || name == "Categories" {
			v.SetString(g.pick("culture", "education", "science", "sport", "x-y_1"))
			return
		}
		if name == "PostalCode" {
			v.SetString(g.pick("00100", "99999", ""))
			return
		}
		v.SetString(g.text())
	case reflect.Int, reflect.Int64, reflect.Int32:
		lo, hi := 0, 1_000_000
		if r, ok := intRanges[name]; ok {
			lo, hi = r[0], r[1]
		}
		v.SetInt(int64([]int{lo, hi, lo + g.r.IntN(hi-lo+1)}[g.r.IntN(3)]))
	case reflect.Bool:
		v.SetBool(g.r.IntN(2) == 0)
	case reflect.Pointer:
		if g.r.IntN(3) > 0 {
			p := reflect.New(t.Elem())
			g.fill(p.Elem(), name)
			v.Set(p)
		}
	case reflect.Slice:
		n := g.r.IntN(4)
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			g.fill(s.Index(i), name)
		}
		if name == "AgeBands" {
			s = reflect.ValueOf([]int{0, 16, 120}[:1+g.r.IntN(3)])
		}
		if name == "Municipalities" {
			s = reflect.ValueOf([]string{"049", "091", "999"}[:1+g.r.IntN(3)])
		}
		v.Set(s)
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				g.fill(v.Field(i), t.Field(i).Name)
			}
		}
	}
}

func (g *valueGen) text() string { return texts[g.r.IntN(len(texts))] }

func (g *valueGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
