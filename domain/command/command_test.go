package command_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func d(s string) domain.Date { return domain.MustDate(s) }

var (
	national = domain.Metadata{Principal: domain.Principal{Role: domain.RoleNational, KeyID: "k_nat"}}
	issuerMD = domain.Metadata{Principal: domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1", KeyID: "k_iss"}}
	venueMD  = domain.Metadata{Principal: domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum", KeyID: "k_ven"}}
	today    = time.Date(2024, 6, 15, 10, 30, 0, 0, time.UTC)
)

func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	return postgres.NewStore(pgtest.NewPool(t))
}

func must(t testing.TB) func(command.Result, error) command.Result {
	return func(res command.Result, err error) command.Result {
		t.Helper()
		if err != nil {
			t.Fatalf("command failed: %v", err)
		}
		if len(res.Records) == 0 {
			t.Fatal("command appended nothing")
		}
		return res
	}
}

// seed builds a network in which espoo-sos-1 may issue cards from
// 2024-02-01 and espoo-museum accepts them, and returns the handler.
func seed(t testing.TB, store domain.EventStore, opts ...command.Option) *command.Handler {
	t.Helper()
	ctx := t.Context()
	h := command.New(store, append([]command.Option{command.WithClock(func() time.Time { return today })}, opts...)...)
	g := guideline.National2022()
	must(t)(h.RegisterLocality(ctx, national, command.RegisterLocality{ID: "espoo", Name: "Espoo", Municipalities: []string{"049"},
		Scope: locality.ScopeNational, JoinedOn: d("2024-01-01"), Pilot: &locality.Period{From: d("2024-01-01"), Until: d("2024-12-31")}}))
	must(t)(h.ReviseGuideline(ctx, national, command.ReviseGuideline{Version: g.Version, AdoptedOn: g.AdoptedOn, EffectiveFrom: g.EffectiveFrom, Rules: g.Rules}))
	must(t)(h.JoinPartner(ctx, national, command.JoinPartner{ID: "espoo-sos-1", Locality: "espoo", Name: "Espoon sosiaalitoimisto",
		Kind: partner.KindIssuer, Category: partner.CategorySocial, Contact: domain.Person{Name: "Anna Virtanen", Email: "anna@example.fi"}, JoinedOn: d("2024-01-15")}))
	must(t)(h.ApproveIssuer(ctx, national, command.ApproveIssuer{Partner: "espoo-sos-1", On: d("2024-02-01")}))
	must(t)(h.CommitToGuideline(ctx, national, command.CommitToGuideline{Partner: "espoo-sos-1", GuidelineVersion: "2022", Via: partner.ViaAgreement, On: d("2024-01-15")}))
	must(t)(h.JoinPartner(ctx, national, command.JoinPartner{ID: "espoo-museum", Locality: "espoo", Name: "Espoon kaupunginmuseo",
		Kind: partner.KindVenue, Category: partner.CategoryCulture, Contact: domain.Person{Name: "Bert Lindqvist"}, JoinedOn: d("2024-01-15")}))
	return h
}

func issueCard(id card.ID) command.IssueCard {
	return command.IssueCard{ID: id, Issuer: "espoo-sos-1", IssuedOn: d("2024-03-01"), Kind: card.KindPersonal,
		Holder: card.Holder{BirthYear: 1971, PostalCode: "02100", MinorChildren: 2}}
}

// bothModes runs test on handlers without and with the aggregate cache:
// every command behaves the same either way.
func bothModes(t *testing.T, test func(t *testing.T, opts []command.Option)) {
	for _, m := range []struct {
		name string
		opts []command.Option
	}{
		{name: "without the cache"},
		{name: "with the cache", opts: []command.Option{command.WithCache(time.Second)}},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			test(t, m.opts)
		})
	}
}

// logLength counts the events stored. It counts rows rather than reading
// the log: ReadAll holds back committed events while an older transaction
// anywhere on the (shared) server is open, so two ReadAll counts may
// differ although nothing was appended in between.
func logLength(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	bothModes(t, testHappyPath)
}

func testHappyPath(t *testing.T, opts []command.Option) {
	ctx := t.Context()
	store := newStore(t)
	h := seed(t, store, opts...)

	issued := must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))
	used := must(t)(h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", ID: "u1", Venue: "espoo-museum", UsedOn: d("2024-04-02"), ChildTickets: 1}))
	cancelled := must(t)(h.CancelUse(ctx, venueMD, command.CancelUse{Card: "K-0001234", Use: "u1", Reason: "wrong_card", On: d("2024-04-03")}))

	t.Run("the events land on the card's stream in order with growing positions", func(t *testing.T) {
		var prev domain.Position
		for i, res := range []command.Result{issued, used, cancelled} {
			r := res.Records[0]
			if r.Stream != card.Stream("K-0001234") || r.Version != domain.Version(i+1) || r.Position <= prev {
				t.Fatalf("record %d: stream %s version %d position %d (previous position %d)", i, r.Stream, r.Version, r.Position, prev)
			}
			prev = r.Position
		}
		if got := []string{issued.Records[0].Name(), used.Records[0].Name(), cancelled.Records[0].Name()}; fmt.Sprint(got) != "[card.issued.v1 card.use_recorded.v1 card.use_cancelled.v1]" {
			t.Fatalf("event names = %v", got)
		}
	})
	t.Run("occurredAt is the business date and the principal is kept", func(t *testing.T) {
		r := used.Records[0]
		if !r.OccurredAt.Equal(d("2024-04-02").Time()) || r.Principal != venueMD.Principal {
			t.Fatalf("occurredAt %v principal %v", r.OccurredAt, r.Principal)
		}
	})
	t.Run("the card is loaded back with the use cancelled", func(t *testing.T) {
		c, err := h.LoadCard(ctx, "K-0001234")
		if err != nil {
			t.Fatal(err)
		}
		uses := c.Uses()
		if c.ValidUntil() != d("2025-02-28") || len(uses) != 1 || !uses[0].Cancelled || uses[0].Category != "culture" {
			t.Fatalf("card valid until %s, uses %+v", c.ValidUntil(), uses)
		}
	})
	t.Run("a contact person's data is stored apart from the event under its subject", func(t *testing.T) {
		recs, err := store.ReadStream(ctx, partner.Stream("espoo-sos-1"), 0)
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Subject != "contact:espoo-sos-1:1" || len(recs[0].Personal) == 0 || string(recs[0].Data) == "" {
			t.Fatalf("subject %q personal %s", recs[0].Subject, recs[0].Personal)
		}
		p, err := h.LoadPartner(ctx, "espoo-sos-1")
		if err != nil || p.Contact().Name != "Anna Virtanen" {
			t.Fatalf("contact = %+v, %v", p.Contact(), err)
		}
	})
	t.Run("a renewal without a date renews today at the issuing unit", func(t *testing.T) {
		res := must(t)(h.RenewCard(ctx, issuerMD, command.RenewCard{Card: "K-0001234"}))
		if !res.Records[0].OccurredAt.Equal(d("2024-06-15").Time()) {
			t.Fatalf("occurredAt = %v, want today's date", res.Records[0].OccurredAt)
		}
	})
	t.Run("a use without an id gets one assigned", func(t *testing.T) {
		res := must(t)(h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", Venue: "espoo-museum", UsedOn: d("2024-04-05")}))
		if _, err := domain.ParseEventID(res.UseID); err != nil {
			t.Fatalf("UseID %q: %v", res.UseID, err)
		}
	})
}

func TestRuleViolationsAppendNothing(t *testing.T) {
	t.Parallel()
	bothModes(t, testRuleViolationsAppendNothing)
}

func testRuleViolationsAppendNothing(t *testing.T, opts []command.Option) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	t.Cleanup(store.Close)
	h := seed(t, store, opts...)
	must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))
	must(t)(h.JoinPartner(ctx, national, command.JoinPartner{ID: "espoo-sos-2", Locality: "espoo", Name: "Uusi toimisto",
		Kind: partner.KindIssuer, Category: partner.CategoryHealth, Contact: domain.Person{Name: "Cecilia"}, JoinedOn: d("2024-02-01")}))

	tests := []struct {
		name     string
		run      func() (command.Result, error)
		wantCode string
		wantErr  error
	}{
		{name: "an issuer not yet approved cannot issue", wantCode: "issuer_not_approved",
			run: func() (command.Result, error) {
				c := issueCard("K-0002000")
				c.Issuer = "espoo-sos-2"
				return h.IssueCard(ctx, issuerMD, c)
			}},
		{name: "a card number cannot be issued twice", wantCode: "card_exists",
			run: func() (command.Result, error) { return h.IssueCard(ctx, issuerMD, issueCard("K-0001234")) }},
		{name: "a card issued before any guideline took effect is refused", wantCode: "no_guideline_in_force",
			run: func() (command.Result, error) {
				c := issueCard("K-0002001")
				c.IssuedOn = d("2021-06-01")
				return h.IssueCard(ctx, issuerMD, c)
			}},
		{name: "more children's tickets than registered children are refused", wantCode: "too_many_child_tickets",
			run: func() (command.Result, error) {
				return h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", Venue: "espoo-museum", UsedOn: d("2024-04-02"), ChildTickets: 3})
			}},
		{name: "a use on an unregistered card is refused with a reason", wantCode: "card_not_registered",
			run: func() (command.Result, error) {
				return h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-9999999", Venue: "espoo-museum", UsedOn: d("2024-04-02")})
			}},
		{name: "a use at an issuer is refused", wantCode: "not_a_venue",
			run: func() (command.Result, error) {
				return h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", Venue: "espoo-sos-1", UsedOn: d("2024-04-02")})
			}},
		{name: "a commitment to an unknown guideline version is refused", wantCode: "unknown_guideline_version",
			run: func() (command.Result, error) {
				return h.CommitToGuideline(ctx, national, command.CommitToGuideline{Partner: "espoo-sos-2", GuidelineVersion: "1999", Via: partner.ViaRegister})
			}},
		{name: "a malformed card number is rejected before anything is read", wantCode: "invalid_card_number",
			run: func() (command.Result, error) {
				return h.CancelCard(ctx, issuerMD, command.CancelCard{Card: "not a card"})
			}},
		{name: "renewing an unknown card is not found", wantErr: domain.ErrNotFound,
			run: func() (command.Result, error) {
				return h.RenewCard(ctx, issuerMD, command.RenewCard{Card: "K-7777777"})
			}},
		{name: "approving an unknown partner is not found", wantErr: domain.ErrNotFound,
			run: func() (command.Result, error) {
				return h.ApproveIssuer(ctx, national, command.ApproveIssuer{Partner: "nobody"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logLength(t, pool)
			res, err := tt.run()
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantCode != "" && domain.CodeOf(err) != tt.wantCode {
				t.Fatalf("error = %v (code %q), want code %q", err, domain.CodeOf(err), tt.wantCode)
			}
			if len(res.Records) != 0 || logLength(t, pool) != before {
				t.Fatalf("a refused command appended %d records", logLength(t, pool)-before)
			}
		})
	}
}

func TestConcurrentUsesOfOneCardAllLand(t *testing.T) {
	t.Parallel()
	bothModes(t, testConcurrentUsesOfOneCardAllLand)
}

func testConcurrentUsesOfOneCardAllLand(t *testing.T, opts []command.Option) {
	ctx := t.Context()
	store := newStore(t)
	// Eight writers: each lost race is another writer's success, so seven
	// retries always suffice.
	h := seed(t, store, append(opts, command.WithRetries(7))...)
	must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))

	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			_, errs[i] = h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", ID: card.UseID(fmt.Sprintf("u%d", i)),
				Venue: "espoo-museum", UsedOn: d("2024-04-02")})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	recs, err := store.ReadStream(ctx, card.Stream("K-0001234"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != writers+1 {
		t.Fatalf("card stream has %d events, want %d", len(recs), writers+1)
	}
	for i, r := range recs {
		if r.Version != domain.Version(i+1) {
			t.Fatalf("event %d has version %d", i, r.Version)
		}
	}
}

// racingStore is the real store with a competing writer that appends to a
// stream just before the handler's own append, as a concurrent request
// would between the handler's read and its write.
type racingStore struct {
	*postgres.Store
	race  func(ctx context.Context) error
	races atomic.Int32
	limit int32
}

func (s *racingStore) interfere(ctx context.Context) error {
	if s.races.Add(1) > s.limit {
		return nil
	}
	return s.race(ctx)
}

func (s *racingStore) Append(ctx context.Context, stream domain.StreamID, expected domain.Version, records ...domain.Record) ([]domain.Record, error) {
	if err := s.interfere(ctx); err != nil {
		return nil, err
	}
	return s.Store.Append(ctx, stream, expected, records...)
}

func (s *racingStore) AppendBatch(ctx context.Context, batch []domain.StreamAppend) ([]domain.Record, error) {
	if err := s.interfere(ctx); err != nil {
		return nil, err
	}
	return s.Store.AppendBatch(ctx, batch)
}

func TestReplacement(t *testing.T) {
	t.Parallel()
	bothModes(t, testReplacement)
}

func testReplacement(t *testing.T, opts []command.Option) {
	ctx := t.Context()

	t.Run("a replacement appends to both cards atomically", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		h := seed(t, store, opts...)
		must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))
		res := must(t)(h.ReplaceCard(ctx, issuerMD, command.ReplaceCard{Card: "K-0001234", NewCardID: "K-0005678", On: d("2024-05-01")}))
		if len(res.Records) != 2 || res.Records[0].Stream != card.Stream("K-0001234") || res.Records[1].Stream != card.Stream("K-0005678") {
			t.Fatalf("records = %+v", res.Records)
		}
		nc, err := h.LoadCard(ctx, "K-0005678")
		if err != nil || nc.Replaces() != "K-0001234" || nc.ValidUntil() != d("2025-02-28") {
			t.Fatalf("new card %+v, %v", nc, err)
		}
		_, err = h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", Venue: "espoo-museum", UsedOn: d("2024-05-02")})
		if !errors.Is(err, card.ErrReplaced) {
			t.Fatalf("use of the old card: %v, want card_replaced", err)
		}
	})

	t.Run("a new card number taken in a race leaves the old card untouched", func(t *testing.T) {
		t.Parallel()
		base := newStore(t)
		h := seed(t, base, opts...)
		must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))
		racing := &racingStore{Store: base, limit: 1}
		racing.race = func(ctx context.Context) error {
			_, err := h.IssueCard(ctx, issuerMD, issueCard("K-0005678"))
			return err
		}
		rh := command.New(racing, append(opts, command.WithClock(func() time.Time { return today }))...)
		_, err := rh.ReplaceCard(ctx, issuerMD, command.ReplaceCard{Card: "K-0001234", NewCardID: "K-0005678", On: d("2024-05-01")})
		if !errors.Is(err, card.ErrExists) {
			t.Fatalf("error = %v, want card_exists after deciding again", err)
		}
		recs, err := base.ReadStream(ctx, card.Stream("K-0001234"), 0)
		if err != nil || len(recs) != 1 {
			t.Fatalf("old card has %d events (%v); the failed batch must not have touched it", len(recs), err)
		}
	})
}

func TestConflictAfterRetriesIsReturned(t *testing.T) {
	t.Parallel()
	bothModes(t, testConflictAfterRetriesIsReturned)
}

func testConflictAfterRetriesIsReturned(t *testing.T, opts []command.Option) {
	ctx := t.Context()
	base := newStore(t)
	h := seed(t, base, opts...)
	must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))
	n := 0
	racing := &racingStore{Store: base, limit: 100}
	racing.race = func(ctx context.Context) error {
		n++
		_, err := h.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", ID: card.UseID(fmt.Sprintf("race%d", n)), Venue: "espoo-museum", UsedOn: d("2024-04-02")})
		return err
	}
	rh := command.New(racing, append(opts, command.WithRetries(2))...)
	_, err := rh.RecordUse(ctx, venueMD, command.RecordUse{Card: "K-0001234", ID: "mine", Venue: "espoo-museum", UsedOn: d("2024-04-02")})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("error = %v, want ErrConflict", err)
	}
	if n != 3 {
		t.Fatalf("the handler tried %d times, want 1 + 2 retries", n)
	}
}

func TestAgreementThroughTheHandler(t *testing.T) {
	t.Parallel()
	bothModes(t, testAgreementThroughTheHandler)
}

func testAgreementThroughTheHandler(t *testing.T, opts []command.Option) {
	ctx := t.Context()
	store := newStore(t)
	h := seed(t, store, opts...)
	must(t)(h.SignAgreement(ctx, national, command.SignAgreement{ID: "espoo-sos-1-pilot", Locality: "espoo", Partner: "espoo-sos-1",
		Kind: "pilot", TemplateVersion: "2022-1", ValidFrom: d("2024-01-15"), ValidUntil: d("2024-12-31")}))
	must(t)(h.AmendAgreement(ctx, national, command.AmendAgreement{Agreement: "espoo-sos-1-pilot", On: d("2024-05-01"), ValidUntil: d("2024-11-30")}))
	_, err := h.SignAgreement(ctx, national, command.SignAgreement{ID: "espoo-museum-net", Locality: "espoo", Partner: "espoo-museum",
		Kind: "network", TemplateVersion: "2022-1", ValidFrom: d("2025-01-01"), ValidUntil: d("2025-12-31")})
	if domain.CodeOf(err) != "partner_joined_during_pilot" {
		t.Fatalf("error = %v, want partner_joined_during_pilot", err)
	}
	a, err := h.LoadAgreement(ctx, "espoo-sos-1-pilot")
	if err != nil || len(a.Timeline(d("2025-01-01"))) != 3 {
		t.Fatalf("timeline %+v, %v", a.Timeline(d("2025-01-01")), err)
	}
}
