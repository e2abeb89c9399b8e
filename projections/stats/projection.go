package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
)

// EventTypes are the record types the projection reads; it implements the
// runtime's type filter with them, so other records are not even decoded.
var EventTypes = []string{
	"guideline.revised",
	"locality.registered",
	"locality.left",
	"card.issued",
	"card.replacement_issued",
	"card.details_corrected",
	"card.use_recorded",
	"card.use_cancelled",
}

// Option configures a Projection.
type Option func(*Projection)

// WithRules makes the projection count everything under rules (a
// restatement) instead of the guideline version in force on each date.
func WithRules(rules guideline.Rules) Option {
	return func(p *Projection) {
		r := rules
		r.Categories = slices.Clone(rules.Categories)
		r.AgeBands = slices.Clone(rules.AgeBands)
		p.fixed = &r
	}
}

// WithBatchFlush tells the projection that its driver calls Flush with
// each transaction before committing it. Handle then buffers card and use
// rows in memory and Flush writes them with COPY, instead of one statement
// per event. Without this option every Handle writes its rows at once,
// which is correct under any driver. Replay and AsOf set it themselves.
func WithBatchFlush() Option { return func(p *Projection) { p.batched = true } }

// Projection builds the statistics read model in one schema. One value is
// meant to be driven by one runtime (Handle calls are serialised by a
// mutex). It caches every card's labels and the guideline versions in
// memory (a card is a few dozen bytes; Finland has about 10^5 cards) and
// falls back to its tables on a miss, so a restarted process continues
// where the tables are.
type Projection struct {
	schema  string
	fixed   *guideline.Rules
	batched bool
	build   bool // WithBuildMode, until FinishBuild

	mu       sync.Mutex
	loaded   bool // versions loaded from the table
	versions []guideline.Revised
	cards    map[card.ID]*cardInfo
	tx       pgx.Tx // the transaction pending rows belong to
	stale    bool   // a Handle failed: caches may hold rolled-back state
	pending  pendingRows
}

type cardInfo struct {
	root       card.ID
	birthYear  int
	postalArea string
	issuer     string
	locality   string
}

type cardRow struct {
	card, root       string
	registered       bool
	issuer, locality string
	issuedOn         domain.Date
	birthYear        int
	postalArea       string
	ageGroup         string
}

type useKey struct {
	card card.ID
	use  card.UseID
}

type useRow struct {
	card, use, root        string
	usedOn                 domain.Date
	venue, venueLocality   string
	issuer, issuerLocality string
	category, kind         string
	childTickets           int
	ageGroup, postalArea   string
	cancelled              bool
}

type pendingRows struct {
	cards []cardRow
	uses  []useRow
	index map[useKey]int // into uses
	// cancels are cancellations of uses written by earlier transactions,
	// deferred to FinishBuild (build mode only).
	cancels []useKey
}

func (r *pendingRows) reset() {
	r.cards, r.uses, r.cancels = r.cards[:0], r.uses[:0], r.cancels[:0]
	clear(r.index)
}

// New returns the statistics projection writing to schema. The schema's
// tables must exist (CreateSchema) before the first Handle.
func New(schema string, opts ...Option) *Projection {
	p := &Projection{schema: schema, cards: map[card.ID]*cardInfo{}, pending: pendingRows{index: map[useKey]int{}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Name is the schema name: it keys the projection's checkpoint, so a new
// schema ("stats_v2") is a new read model that replays the whole log
// beside the live one.
func (p *Projection) Name() string { return p.schema }

// Schema returns the schema the projection writes to.
func (p *Projection) Schema() string { return p.schema }

// EventTypes returns the record types the projection handles.
func (p *Projection) EventTypes() []string { return slices.Clone(EventTypes) }

func (p *Projection) table(name string) string { return pgx.Identifier{p.schema, name}.Sanitize() }

// Reset empties the read model's tables inside tx and forgets every cache,
// for a rebuild in place. A restated build's fixed rules are written
// again. It returns the database's error, wrapped.
func (p *Projection) Reset(ctx context.Context, tx pgx.Tx) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forget()
	sql := fmt.Sprintf("TRUNCATE %s, %s, %s, %s, %s", p.table("guideline_versions"), p.table("fixed_rules"),
		p.table("localities"), p.table("cards"), p.table("uses"))
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("reset statistics %s: %w", p.schema, err)
	}
	return p.writeFixed(ctx, tx)
}

// Init writes what a restated build records about itself (its fixed
// rules) into the schema. CreateSchema followed by Init prepares a new
// schema; Replay and AsOf call it. It returns the database's error,
// wrapped.
func (p *Projection) Init(ctx context.Context, db Execer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeFixed(ctx, db)
}

func (p *Projection) writeFixed(ctx context.Context, db Execer) error {
	if p.fixed == nil {
		return nil
	}
	raw, err := json.Marshal(p.fixed)
	if err != nil {
		return fmt.Errorf("statistics %s: encode rules: %w", p.schema, err)
	}
	_, err = db.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (rules) VALUES ($1)
		ON CONFLICT (singleton) DO UPDATE SET rules = EXCLUDED.rules`, p.table("fixed_rules")), raw)
	if err != nil {
		return fmt.Errorf("statistics %s: store rules: %w", p.schema, err)
	}
	return nil
}

func (p *Projection) forget() {
	p.loaded = false
	p.versions = nil
	clear(p.cards)
	p.tx = nil
	p.pending.reset()
}

// Handle applies one event inside tx. It ignores events it does not count
// by. It returns the database's error, wrapped, or an error for an event
// that refers to a card the read model has never seen.
func (p *Projection) Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stale {
		p.forget()
		p.stale = false
	}
	if tx != p.tx {
		// Rows of another transaction that nobody flushed were rolled
		// back (a committing driver flushes first).
		p.pending.reset()
		p.tx = tx
	}
	err := p.handle(ctx, tx, rec, ev)
	if err == nil && !p.batched {
		err = p.flush(ctx, tx)
	}
	if err != nil {
		p.stale = true
		return fmt.Errorf("statistics %s: %w", p.schema, err)
	}
	return nil
}

// Flush writes the rows Handle buffered for tx. A driver that set
// WithBatchFlush calls it before committing each transaction. It returns
// the database's error, wrapped; the driver must then roll tx back.
func (p *Projection) Flush(ctx context.Context, tx pgx.Tx) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tx != p.tx {
		return nil // nothing was handled in tx
	}
	if err := p.flush(ctx, tx); err != nil {
		p.stale = true
		return fmt.Errorf("statistics %s: %w", p.schema, err)
	}
	return nil
}

func (p *Projection) handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error {
	if !p.loaded {
		if err := p.loadVersions(ctx, tx); err != nil {
			return err
		}
	}
	switch e := ev.(type) {
	case card.UseRecorded:
		return p.onUseRecorded(ctx, tx, card.ID(rec.Stream.ID()), e)
	case card.Issued:
		p.onIssued(e.Card, e.Card, true, string(e.Issuer), string(e.Locality), e.IssuedOn, e.Holder)
	case card.ReplacementIssued:
		root := e.ReplacesCard
		old, err := p.card(ctx, tx, e.ReplacesCard)
		if err != nil {
			return err
		}
		if old != nil {
			root = old.root
		}
		p.onIssued(e.Card, root, false, string(e.Issuer), string(e.Locality), e.IssuedOn, e.Holder)
	case card.UseCancelled:
		return p.onUseCancelled(ctx, tx, card.ID(rec.Stream.ID()), e)
	case card.DetailsCorrected:
		return p.onDetailsCorrected(ctx, tx, card.ID(rec.Stream.ID()), e)
	case guideline.Revised:
		return p.onRevised(ctx, tx, e)
	case locality.Registered:
		_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, municipalities, joined_on) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET municipalities = EXCLUDED.municipalities, joined_on = EXCLUDED.joined_on`,
			p.table("localities")), string(e.ID), e.Municipalities, e.JoinedOn.Time())
		if err != nil {
			return fmt.Errorf("locality %s registered: %w", e.ID, err)
		}
	case locality.Left:
		id := rec.Stream.ID()
		if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET left_on = $2 WHERE id = $1`, p.table("localities")), id, e.On.Time()); err != nil {
			return fmt.Errorf("locality %s left: %w", id, err)
		}
	}
	return nil
}

// rulesAt returns the rules to count a fact dated d by.
func (p *Projection) rulesAt(d domain.Date) guideline.Rules {
	if p.fixed != nil {
		return *p.fixed
	}
	for i := len(p.versions) - 1; i >= 0; i-- {
		if p.versions[i].EffectiveFrom.OnOrBefore(d) {
			return p.versions[i].Rules
		}
	}
	if len(p.versions) > 0 {
		// Facts dated before the first version are counted by it: history
		// entered from before the guideline existed still needs bands.
		return p.versions[0].Rules
	}
	return guideline.National2022().Rules
}

func (p *Projection) loadVersions(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT version, effective_from, rules FROM %s ORDER BY effective_from`, p.table("guideline_versions")))
	if err != nil {
		return fmt.Errorf("load guideline versions: %w", err)
	}
	var (
		vs   []guideline.Revised
		v    string
		from domain.Date
		raw  []byte
	)
	var fromT time.Time
	_, err = pgx.ForEachRow(rows, []any{&v, &fromT, &raw}, func() error {
		from = domain.DateOf(fromT)
		var r guideline.Rules
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("guideline version %s: %w", v, err)
		}
		vs = append(vs, guideline.Revised{Version: guideline.Version(v), EffectiveFrom: from, Rules: r})
		return nil
	})
	if err != nil {
		return fmt.Errorf("load guideline versions: %w", err)
	}
	p.versions, p.loaded = vs, true
	return nil
}

func (p *Projection) onRevised(ctx context.Context, tx pgx.Tx, e guideline.Revised) error {
	raw, err := json.Marshal(e.Rules)
	if err != nil {
		return fmt.Errorf("guideline %s: %w", e.Version, err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (version, effective_from, rules) VALUES ($1, $2, $3)
		ON CONFLICT (version) DO UPDATE SET effective_from = EXCLUDED.effective_from, rules = EXCLUDED.rules`,
		p.table("guideline_versions")), string(e.Version), e.EffectiveFrom.Time(), raw); err != nil {
		return fmt.Errorf("guideline %s revised: %w", e.Version, err)
	}
	p.versions = slices.DeleteFunc(p.versions, func(v guideline.Revised) bool { return v.Version == e.Version })
	p.versions = append(p.versions, guideline.Revised{Version: e.Version, EffectiveFrom: e.EffectiveFrom, Rules: e.Rules})
	slices.SortStableFunc(p.versions, func(a, b guideline.Revised) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
	return nil
}

func (p *Projection) onIssued(id, root card.ID, registered bool, issuer, loc string, on domain.Date, h card.Holder) {
	c := &cardInfo{root: root, birthYear: h.BirthYear, postalArea: PostalArea(h.PostalCode), issuer: issuer, locality: loc}
	p.cards[id] = c
	p.pending.cards = append(p.pending.cards, cardRow{
		card: string(id), root: string(root), registered: registered, issuer: issuer, locality: loc,
		issuedOn: on, birthYear: h.BirthYear, postalArea: c.postalArea,
		ageGroup: p.rulesAt(on).AgeBand(h.BirthYear, on.Year()),
	})
}

// PostalArea is what the read model keeps of a postal code: its first
// three digits (the postal district), or the code as given when shorter.
func PostalArea(code string) string {
	if len(code) > 3 {
		return code[:3]
	}
	return code
}

// errUnknownCard reports an event about a card the read model never saw
// issued; the log guarantees issue before use, so it is a bug or a log
// that was filtered wrongly.
var errUnknownCard = errors.New("card was never issued")

// card returns the cached labels of id, reading them from the table on a
// miss, or nil when the card is unknown.
func (p *Projection) card(ctx context.Context, tx pgx.Tx, id card.ID) (*cardInfo, error) {
	if c := p.cards[id]; c != nil {
		return c, nil
	}
	var c cardInfo
	var root string
	err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT root, birth_year, postal_area, issuer, issuer_locality FROM %s WHERE card = $1`, p.table("cards")), string(id)).
		Scan(&root, &c.birthYear, &c.postalArea, &c.issuer, &c.locality)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("card %s: %w", id, err)
	}
	c.root = card.ID(root)
	p.cards[id] = &c
	return &c, nil
}

func (p *Projection) onUseRecorded(ctx context.Context, tx pgx.Tx, id card.ID, e card.UseRecorded) error {
	c, err := p.card(ctx, tx, id)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("use %s on card %s: %w", e.Use, id, errUnknownCard)
	}
	rules := p.rulesAt(e.UsedOn)
	child := e.ChildTickets
	if e.Kind == card.UseCourse && !rules.ChildTicketsForCourses {
		child = 0
	}
	kind := e.Kind
	if kind == "" {
		kind = card.UseEvent
	}
	p.pending.index[useKey{id, e.Use}] = len(p.pending.uses)
	p.pending.uses = append(p.pending.uses, useRow{
		card: string(id), use: string(e.Use), root: string(c.root), usedOn: e.UsedOn,
		venue: string(e.Venue), venueLocality: string(e.VenueLocality),
		issuer: c.issuer, issuerLocality: c.locality,
		category: e.Category, kind: string(kind), childTickets: child,
		ageGroup: rules.AgeBand(c.birthYear, e.UsedOn.Year()), postalArea: c.postalArea,
	})
	return nil
}

func (p *Projection) onUseCancelled(ctx context.Context, tx pgx.Tx, id card.ID, e card.UseCancelled) error {
	if i, ok := p.pending.index[useKey{id, e.Use}]; ok {
		p.pending.uses[i].cancelled = true
		return nil
	}
	if p.build {
		p.pending.cancels = append(p.pending.cancels, useKey{id, e.Use})
		return nil
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET cancelled = true WHERE use_key = $3 AND card = $1 AND use_id = $2`, p.table("uses")),
		string(id), string(e.Use), useKeyOf(string(id), string(e.Use))); err != nil {
		return fmt.Errorf("use %s on card %s cancelled: %w", e.Use, id, err)
	}
	return nil
}

// onDetailsCorrected relabels the card and every use recorded on it: a
// correction says the register was wrong, so the live figures follow the
// corrected register (the figures as reported stay available as of their
// record time).
func (p *Projection) onDetailsCorrected(ctx context.Context, tx pgx.Tx, id card.ID, e card.DetailsCorrected) error {
	if e.BirthYear == nil && e.PostalCode == nil {
		return nil
	}
	c, err := p.card(ctx, tx, id)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("correction of card %s: %w", id, errUnknownCard)
	}
	if err := p.flush(ctx, tx); err != nil {
		return err
	}
	if e.BirthYear != nil {
		c.birthYear = *e.BirthYear
	}
	if e.PostalCode != nil {
		c.postalArea = PostalArea(*e.PostalCode)
	}
	var issuedOn time.Time
	if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT issued_on FROM %s WHERE card = $1`, p.table("cards")), string(id)).Scan(&issuedOn); err != nil {
		return fmt.Errorf("correction of card %s: %w", id, err)
	}
	on := domain.DateOf(issuedOn)
	if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET birth_year = $2, postal_area = $3, age_group = $4 WHERE card = $1`, p.table("cards")),
		string(id), c.birthYear, c.postalArea, p.rulesAt(on).AgeBand(c.birthYear, on.Year())); err != nil {
		return fmt.Errorf("correction of card %s: %w", id, err)
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT use_id, used_on FROM %s WHERE card = $1`, p.table("uses")), string(id))
	if err != nil {
		return fmt.Errorf("correction of card %s: %w", id, err)
	}
	var (
		ids, groups []string
		use         string
		usedOn      time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&use, &usedOn}, func() error {
		d := domain.DateOf(usedOn)
		ids = append(ids, use)
		groups = append(groups, p.rulesAt(d).AgeBand(c.birthYear, d.Year()))
		return nil
	}); err != nil {
		return fmt.Errorf("correction of card %s: %w", id, err)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s u SET age_group = v.g, postal_area = $2
		FROM unnest($3::text[], $4::text[]) AS v(id, g) WHERE u.card = $1 AND u.use_id = v.id`, p.table("uses")),
		string(id), c.postalArea, ids, groups); err != nil {
		return fmt.Errorf("correction of card %s: %w", id, err)
	}
	return nil
}
