package dataset

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// Config says how big a network to generate and over which dates.
type Config struct {
	// Scale 1 is Finland after ten years (100,000 cards, 270,000 uses);
	// 0.02 is a small demo; 10 and 100 multiply it.
	Scale float64
	// Seed makes the output deterministic: the same Config, the same commands.
	Seed uint64
	// From and Until bound the business dates (default 2015-01-01 to 2025-12-31).
	From, Until domain.Date
}

// Command is one generated command with the principal that sends it.
// Cmd is a value of one of domain/command's command types.
type Command struct {
	On        domain.Date
	Principal domain.Principal
	Cmd       any
}

// Totals counts what Generate emitted, for progress and reports.
type Totals struct {
	Commands, Localities, Municipalities, Issuers, Venues, Cards, Uses int
}

// Guideline2015 is the guideline version before 2022 in the generated
// history: children's tickets for those under 16 (ChildTicketMaxAge 15).
func Guideline2015() guideline.Revised {
	g := guideline.National2022()
	g.Version = "2015"
	g.AdoptedOn = domain.FirstBusinessDate // the window of business dates opens with the first pilots
	g.EffectiveFrom = domain.MustDate("2015-01-01")
	g.Rules.ChildTicketMaxAge = 15
	return g
}

type gLocality struct {
	id             locality.ID
	scope          locality.Scope
	joined         domain.Date
	pilot          *locality.Period
	municipalities []string
	postalPrefix   string
	weight         float64 // share of cards
	issuers        []*gPartner
	venues         []*gPartner
}

type gPartner struct {
	id       partner.ID
	loc      *gLocality
	kind     partner.Kind
	category partner.Category
	joined   domain.Date
	usable   domain.Date // approved (issuers) or joined (venues)
	left     domain.Date // zero while in the network
}

func (p *gPartner) activeOn(d domain.Date) bool {
	return !p.usable.IsZero() && d.OnOrAfter(p.usable) && (p.left.IsZero() || d.Before(p.left))
}

type gen struct {
	cfg      Config
	rnd      *rand.Rand
	q        queue
	seq      int
	locs     []*gLocality
	totals   Totals
	nextCard int
}

// Generate emits the network's commands in business-date order to emit,
// stopping at the first error emit returns.
func Generate(cfg Config, emit func(Command) error) (Totals, error) {
	if cfg.Scale <= 0 {
		return Totals{}, fmt.Errorf("dataset: scale must be positive, got %v", cfg.Scale)
	}
	if cfg.From.IsZero() {
		cfg.From = domain.MustDate("2015-01-01")
	}
	if cfg.Until.IsZero() {
		cfg.Until = domain.MustDate("2025-12-31")
	}
	if !cfg.From.Before(cfg.Until) {
		return Totals{}, fmt.Errorf("dataset: From %s must be before Until %s", cfg.From, cfg.Until)
	}
	g := &gen{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6b61696b75))}
	g.structure()
	return g.totals, g.run(emit)
}

// push schedules a command; commands of one date come out in push order.
func (g *gen) push(on domain.Date, p domain.Principal, cmd any) {
	g.seq++
	heap.Push(&g.q, item{Command{On: on, Principal: p, Cmd: cmd}, g.seq})
}

var national = domain.Principal{Role: domain.RoleNational}

func coordinatorOf(l *gLocality) domain.Principal {
	return domain.Principal{Role: domain.RoleCoordinator, Locality: string(l.id)}
}

func (g *gen) day(from, until domain.Date) domain.Date {
	n := from.DaysUntil(until)
	if n <= 0 {
		return from
	}
	return from.AddDays(g.rnd.IntN(n + 1))
}

func (g *gen) person(tag string) domain.Person {
	f, l := givenNames[g.rnd.IntN(len(givenNames))], familyNames[g.rnd.IntN(len(familyNames))]
	return domain.Person{Name: f + " " + l, Email: strings.ToLower(asciiFold(f+"."+l)) + "@" + tag + ".example.fi",
		Phone: fmt.Sprintf("+358 40 %03d %04d", g.rnd.IntN(1000), g.rnd.IntN(10000))}
}

// structure schedules guidelines, localities, partners, agreements,
// contacts, coordinators and meetings.
func (g *gen) structure() {
	for _, rv := range []guideline.Revised{Guideline2015(), guideline.National2022()} {
		on := domain.MaxDate(rv.AdoptedOn, g.cfg.From.AddDays(-60))
		g.push(on, national, command.ReviseGuideline{Version: rv.Version, AdoptedOn: on, EffectiveFrom: rv.EffectiveFrom, Rules: rv.Rules})
	}
	used := map[string]bool{}
	for _, rl := range realLocalities {
		l := &gLocality{id: locality.ID(rl.id), scope: locality.Scope(rl.scope), municipalities: rl.municipalities}
		if rl.pilotFrom != "" {
			l.pilot = &locality.Period{From: domain.MustDate(rl.pilotFrom), Until: domain.MustDate(rl.pilotUntil)}
			l.joined = l.pilot.From
		} else {
			l.joined = g.day(domain.MustDate("2019-01-01"), domain.MustDate("2021-06-30"))
		}
		for _, m := range rl.municipalities {
			used[m] = true
		}
		g.addLocality(l, rl.name)
	}
	target := int(math.Round(120 * g.cfg.Scale))
	if target > len(moreMunicipalities)+14 {
		target = len(moreMunicipalities) + 14 // scale > 1 grows partners and cards, not the country
	}
	var pool []int
	for i, m := range moreMunicipalities {
		if !used[m.code] {
			pool = append(pool, i)
		}
	}
	for n := 0; g.totals.Municipalities < target && len(pool) > 0; n++ {
		k := 1 + g.rnd.IntN(3)
		if k > len(pool) {
			k = len(pool)
		}
		var codes, names []string
		for _, i := range pool[:k] {
			codes = append(codes, moreMunicipalities[i].code)
			names = append(names, moreMunicipalities[i].name)
		}
		pool = pool[k:]
		l := &gLocality{id: locality.ID(fmt.Sprintf("loc-%s", codes[0])), scope: locality.ScopeNational, municipalities: codes,
			joined: g.day(domain.MustDate("2019-06-01"), g.cfg.Until.AddDays(-200))}
		if g.rnd.IntN(3) == 0 {
			l.pilot = &locality.Period{From: l.joined, Until: l.joined.AddMonths(12).AddDays(-1)}
		}
		g.addLocality(l, strings.Join(names, " and "))
	}
	// Partners: 400 issuers and 450 venues at scale 1, spread by size.
	var total float64
	for _, l := range g.locs {
		total += l.weight
	}
	issuers, venues := int(math.Round(400*g.cfg.Scale)), int(math.Round(450*g.cfg.Scale))
	for _, l := range g.locs {
		share := l.weight / total
		ni := max(2, int(math.Round(float64(issuers)*share)))
		nv := max(4, int(math.Round(float64(venues)*share)))
		for i := 0; i < ni; i++ {
			g.addPartner(l, partner.KindIssuer, i)
		}
		for i := 0; i < nv; i++ {
			g.addPartner(l, partner.KindVenue, i)
		}
	}
}

func (g *gen) addLocality(l *gLocality, name string) {
	if l.joined.Before(g.cfg.From) {
		l.joined = g.cfg.From
	}
	if l.joined.After(g.cfg.Until) {
		return
	}
	l.weight = float64(len(l.municipalities))
	if l.id == "espoo" || l.id == "vantaa-kerava" || l.id == "oulu" {
		l.weight *= 3 // big cities issue more cards
	}
	l.postalPrefix = fmt.Sprintf("%02d", 10+len(g.locs)*7%89)
	g.locs = append(g.locs, l)
	g.totals.Localities++
	g.totals.Municipalities += len(l.municipalities)
	g.push(l.joined, national, command.RegisterLocality{ID: l.id, Name: name, Municipalities: l.municipalities,
		Scope: l.scope, JoinedOn: l.joined, Pilot: l.pilot})
	co := coordinatorOf(l)
	for _, side := range []locality.Side{locality.SideCulture, locality.SideSocial} {
		p := g.person(string(l.id))
		g.push(l.joined, national, command.AssignCoordinator{Locality: l.id, Side: side, Name: p.Name, Email: p.Email, Phone: p.Phone, On: l.joined})
		if g.rnd.IntN(5) == 0 {
			on := g.day(l.joined.AddDays(180), g.cfg.Until)
			p := g.person(string(l.id))
			g.push(on, national, command.AssignCoordinator{Locality: l.id, Side: side, Name: p.Name, Email: p.Email, Phone: p.Phone, On: on})
		}
	}
	if l.pilot != nil && l.pilot.Until.Before(g.cfg.Until) {
		g.push(l.pilot.Until.AddDays(1), national, command.ConcludePilot{Locality: l.id, On: l.pilot.Until.AddDays(1)})
	}
	for y := l.joined.Year(); y <= g.cfg.Until.Year(); y++ {
		if g.rnd.IntN(100) < 85 {
			on := domain.MaxDate(l.joined, domain.NewDate(y, 4, 1)).AddDays(g.rnd.IntN(200))
			if on.OnOrBefore(g.cfg.Until) {
				g.push(on, co, command.HoldFeedbackMeeting{Locality: l.id, HeldOn: on, Participants: 6 + g.rnd.IntN(20)})
			}
		}
	}
}

var (
	issuerCats = []partner.Category{partner.CategorySocial, partner.CategoryHealth, partner.CategoryWellbeing, partner.CategoryNGO}
	venueCats  = []partner.Category{partner.CategoryCulture, partner.CategoryEducation, partner.CategoryScience, partner.CategorySport}
	// venueCatWeights make sport the largest adult category.
	venueCatWeights = []int{32, 18, 12, 38}
)

func (g *gen) addPartner(l *gLocality, kind partner.Kind, i int) {
	p := &gPartner{loc: l, kind: kind}
	if kind == partner.KindIssuer {
		p.category = issuerCats[i%len(issuerCats)]
		if i >= len(issuerCats) {
			p.category = issuerCats[g.rnd.IntN(2)] // most issuers are social or health offices
		}
		g.totals.Issuers++
		p.id = partner.ID(fmt.Sprintf("%s-iss-%d", l.id, i+1))
	} else {
		if i < len(venueCats) {
			p.category = venueCats[i]
		} else {
			p.category = venueCats[pickWeighted(g.rnd, venueCatWeights)]
		}
		g.totals.Venues++
		p.id = partner.ID(fmt.Sprintf("%s-ven-%d", l.id, i+1))
	}
	p.joined = l.joined
	if i >= 2 {
		p.joined = g.day(l.joined, domain.MinDate(l.joined.AddDays(3*365), g.cfg.Until))
	}
	co := coordinatorOf(l)
	names := venueNames[string(p.category)]
	if kind == partner.KindIssuer {
		names = issuerNames[string(p.category)]
	}
	contact := g.person(string(l.id))
	g.push(p.joined, co, command.JoinPartner{ID: p.id, Locality: l.id, Name: names[i%len(names)] + " " + fmt.Sprint(i+1),
		Kind: kind, Category: p.category, Contact: contact, JoinedOn: p.joined})
	p.usable = p.joined
	if kind == partner.KindIssuer {
		p.usable = p.joined.AddDays(g.rnd.IntN(15))
		g.push(p.usable, national, command.ApproveIssuer{Partner: p.id, On: p.usable})
		l.issuers = append(l.issuers, p)
	} else {
		l.venues = append(l.venues, p)
	}
	// Some venues leave; nothing is done in their name on or after that day.
	if kind == partner.KindVenue && i >= 4 && g.rnd.IntN(100) < 4 {
		p.left = g.day(domain.MaxDate(p.joined.AddDays(365), domain.MustDate("2020-01-01")), g.cfg.Until)
		if p.left.After(g.cfg.Until) {
			p.left = domain.Date{}
		}
	}
	beforeLeaving := func(on domain.Date) bool { return p.left.IsZero() || on.Before(p.left) }
	via := []partner.Via{partner.ViaAgreement, partner.ViaBrochure, partner.ViaWebsite, partner.ViaRegister}[g.rnd.IntN(4)]
	first := guideline.Version("2015")
	if p.joined.OnOrAfter(domain.MustDate("2022-01-01")) {
		first = "2022"
	}
	g.push(p.joined, co, command.CommitToGuideline{Partner: p.id, GuidelineVersion: first, Via: via, On: p.joined})
	if first == "2015" && g.rnd.IntN(100) < 88 { // most recommit to 2022; the rest show up in compliance
		if on := g.day(domain.MustDate("2022-01-01"), domain.MustDate("2022-06-30")); beforeLeaving(on) {
			g.push(on, co, command.CommitToGuideline{Partner: p.id, GuidelineVersion: "2022", Via: partner.ViaRegister, On: on})
		}
	}
	if g.rnd.IntN(10) < 3 {
		on := g.day(p.joined.AddDays(30), g.cfg.Until)
		c := g.person(string(l.id))
		if beforeLeaving(on) {
			g.push(on, co, command.ChangeContact{Partner: p.id, Name: c.Name, Email: c.Email, Phone: c.Phone, On: on})
		}
	}
	// Agreements: pilot agreements during the pilot; after it only new partners sign.
	var ag command.SignAgreement
	switch {
	case l.pilot != nil && l.pilot.Contains(p.joined):
		ag = command.SignAgreement{Kind: agreement.KindPilot, ValidFrom: p.joined, ValidUntil: l.pilot.Until}
	default:
		ag = command.SignAgreement{Kind: agreement.KindNetwork, ValidFrom: p.joined, ValidUntil: p.joined.AddYears(3).AddDays(-1)}
	}
	ag.ID = agreement.ID(string(p.id) + "-a1")
	ag.Locality, ag.Partner, ag.TemplateVersion = l.id, p.id, "2022-1"
	if p.joined.Before(domain.MustDate("2022-01-01")) {
		ag.TemplateVersion = "2015-1"
	}
	g.push(p.joined, co, ag)
	until := ag.ValidUntil
	if on := ag.ValidUntil.AddDays(-30); ag.Kind == agreement.KindNetwork && g.rnd.IntN(10) < 3 &&
		on.Before(g.cfg.Until) && (p.left.IsZero() || p.left.After(on)) {
		until = until.AddYears(3)
		g.push(on, co, command.AmendAgreement{Agreement: ag.ID, On: on, ValidUntil: until, Note: "extended for three years"})
	}
	if !p.left.IsZero() {
		if p.left.OnOrBefore(until) {
			g.push(p.left, co, command.TerminateAgreement{Agreement: ag.ID, On: p.left, Reason: "partner_left"})
		}
		g.push(p.left, co, command.LeavePartner{Partner: p.id, On: p.left, Reason: "closed"})
	}
}

// run walks the dates, issuing cards at each locality's rate, and emits
// everything scheduled in date order.
func (g *gen) run(emit func(Command) error) error {
	cards := 100_000 * g.cfg.Scale
	// A locality's card rate grows with its years in the network.
	weightOn := func(l *gLocality, d domain.Date) float64 {
		if d.Before(l.joined) {
			return 0
		}
		years := float64(l.joined.DaysUntil(d)) / 365
		return l.weight * math.Min(1+years/2, 3)
	}
	var sum float64
	for d := g.cfg.From; d.OnOrBefore(g.cfg.Until); d = d.AddDays(1) {
		for _, l := range g.locs {
			sum += weightOn(l, d)
		}
	}
	perWeight := cards / sum
	carry := map[*gLocality]float64{}
	for d := g.cfg.From; d.OnOrBefore(g.cfg.Until); d = d.AddDays(1) {
		// Structural commands and card lifecycles scheduled before today.
		if err := g.drain(d, emit); err != nil {
			return err
		}
		for _, l := range g.locs {
			carry[l] += weightOn(l, d) * perWeight
			for carry[l] >= 1 {
				carry[l]--
				g.issue(l, d)
			}
		}
		if err := g.drain(d, emit); err != nil {
			return err
		}
	}
	return g.drain(domain.Date{}, emit)
}

// drain emits every scheduled command dated on or before d (all when d is zero).
func (g *gen) drain(d domain.Date, emit func(Command) error) error {
	for g.q.Len() > 0 && (d.IsZero() || g.q[0].c.On.OnOrBefore(d)) {
		it := heap.Pop(&g.q).(item)
		if it.c.On.After(g.cfg.Until) {
			continue
		}
		g.totals.Commands++
		if err := emit(it.c); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) issue(l *gLocality, d domain.Date) {
	var issuers []*gPartner
	for _, p := range l.issuers {
		if p.activeOn(d) {
			issuers = append(issuers, p)
		}
	}
	if len(issuers) == 0 {
		return
	}
	iss := issuers[g.rnd.IntN(len(issuers))]
	g.nextCard++
	g.totals.Cards++
	id := card.ID(fmt.Sprintf("K-%07d", g.nextCard))
	age := 16 + int(math.Abs(g.rnd.NormFloat64()*18)+float64(g.rnd.IntN(30)))
	if age > 90 {
		age = 16 + g.rnd.IntN(60)
	}
	h := card.Holder{BirthYear: d.Year() - age, PostalCode: fmt.Sprintf("%s%03d", l.postalPrefix, g.rnd.IntN(100)*10)}
	if age < 70 && g.rnd.IntN(100) < 30 {
		h.MinorChildren = 1 + g.rnd.IntN(3)
	}
	if g.rnd.IntN(2) == 0 {
		h.LifeSituation = []string{"unemployed", "retired", "student", "disability", "caregiver", "other"}[g.rnd.IntN(6)]
	}
	if g.rnd.IntN(3) > 0 {
		h.Gender = []string{"female", "male", "female", "male", "other"}[g.rnd.IntN(5)]
	}
	kind := card.KindPersonal
	if g.rnd.IntN(50) == 0 {
		kind = card.KindCommunity
	}
	issuerP := domain.Principal{Role: domain.RoleIssuer, Partner: string(iss.id)}
	g.push(d, issuerP, command.IssueCard{ID: id, Issuer: iss.id, IssuedOn: d, Kind: kind, Holder: h})

	// Lifecycle: replacement, renewals, cancellation, uses. The card in
	// use on a date is the replacement from its replacement date on.
	full := d.AddMonths(12).AddDays(-1)
	var replacedOn domain.Date
	newID := card.ID(fmt.Sprintf("K-%07d", 5_000_000+g.nextCard))
	if g.rnd.IntN(100) < 2 {
		replacedOn = g.day(d.AddDays(30), full.AddDays(-30))
		g.push(replacedOn, issuerP, command.ReplaceCard{Card: id, NewCardID: newID, On: replacedOn})
	}
	cardOn := func(day domain.Date) card.ID {
		if !replacedOn.IsZero() && day.OnOrAfter(replacedOn) {
			return newID
		}
		return id
	}
	end := full
	var cancelledOn domain.Date
	if g.rnd.IntN(100) < 3 { // cancelled within its first year, never renewed
		cancelledOn = g.day(domain.MaxDate(d, replacedOn).AddDays(20), full)
		end = cancelledOn.AddDays(-1)
	} else {
		for renewals := 0; renewals < 3 && g.rnd.IntN(100) < 28; renewals++ {
			on := end.AddDays(-g.rnd.IntN(30))
			g.push(on, issuerP, command.RenewCard{Card: cardOn(on), Issuer: iss.id, On: on})
			end = on.AddMonths(12).AddDays(-1)
		}
	}
	end = domain.MinDate(end, g.cfg.Until)
	nUses := 0
	if g.rnd.IntN(100) >= 30 { // 30 % of cards are never used
		years := math.Max(float64(d.DaysUntil(end))/365, 0.1)
		nUses = 1 + int(g.rnd.ExpFloat64()*2.9*years)
	}
	dates := make([]domain.Date, nUses)
	for i := range dates {
		dates[i] = g.day(d, end)
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	for i, ud := range dates {
		current := cardOn(ud)
		v := g.venueFor(l, ud)
		if v == nil {
			continue
		}
		u := command.RecordUse{Card: current, ID: card.UseID(fmt.Sprintf("u%d", i+1)), Venue: v.id, UsedOn: ud, Kind: card.UseEvent}
		if (v.category == partner.CategoryEducation || v.category == partner.CategorySport) && g.rnd.IntN(100) < 15 {
			u.Kind = card.UseCourse
		}
		if v.category == partner.CategoryEducation && u.Kind == card.UseEvent && g.rnd.IntN(100) < 10 {
			u.Category = "culture" // an adult-education centre hosting a concert
		}
		if h.MinorChildren > 0 && u.Kind == card.UseEvent && g.rnd.IntN(100) < 55 {
			u.ChildTickets = 1 + g.rnd.IntN(h.MinorChildren)
		}
		u.Assistant = g.rnd.IntN(100) < 5
		vp := domain.Principal{Role: domain.RoleVenue, Partner: string(v.id)}
		g.push(ud, vp, u)
		g.totals.Uses++
		if g.rnd.IntN(100) == 0 {
			g.push(ud, vp, command.CancelUse{Card: current, Use: u.ID, Reason: "wrong_card"})
		}
	}
	if !cancelledOn.IsZero() {
		g.push(cancelledOn, issuerP, command.CancelCard{Card: cardOn(cancelledOn), On: cancelledOn, Reason: "moved_away"})
	}
}

// venueFor picks a venue open on d: mostly the card's own locality, now and
// then another national-scope one when both are national.
func (g *gen) venueFor(l *gLocality, d domain.Date) *gPartner {
	home := l
	if l.scope == locality.ScopeNational && g.rnd.IntN(100) < 8 {
		o := g.locs[g.rnd.IntN(len(g.locs))]
		if o.scope == locality.ScopeNational && !d.Before(o.joined) {
			home = o
		}
	}
	cat := venueCats[pickWeighted(g.rnd, venueCatWeights)]
	var open, sameCat []*gPartner
	for _, v := range home.venues {
		if v.activeOn(d) {
			open = append(open, v)
			if v.category == cat {
				sameCat = append(sameCat, v)
			}
		}
	}
	switch {
	case len(sameCat) > 0:
		return sameCat[g.rnd.IntN(len(sameCat))]
	case len(open) > 0:
		return open[g.rnd.IntN(len(open))]
	}
	return nil
}

func pickWeighted(r *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := r.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

func asciiFold(s string) string {
	return strings.NewReplacer("ä", "a", "ö", "o", "å", "a", "Ä", "A", "Ö", "O").Replace(s)
}

type item struct {
	c   Command
	seq int
}

// queue is a min-heap by date, then by scheduling order.
type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if c := q[i].c.On.Compare(q[j].c.On); c != 0 {
		return c < 0
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
