package command_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
)

// fakeClock is a cache clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cachedHandler returns a handler with the cache over store, its cache on
// a fake clock.
func cachedHandler(store domain.EventStore, ttl time.Duration, clock *fakeClock, opts ...command.Option) *command.Handler {
	h := command.New(store, append([]command.Option{command.WithClock(func() time.Time { return today }), command.WithCache(ttl)}, opts...)...)
	command.SetCacheClock(h, clock.Now)
	return h
}

func use(id card.ID, useID string) command.RecordUse {
	return command.RecordUse{Card: id, ID: card.UseID(useID), Venue: "espoo-museum", UsedOn: d("2024-04-02")}
}

func TestCacheSeesLocalAppendsAtOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := newStore(t)
	clock := &fakeClock{now: today}
	// An hour-long ttl: only write-through can make the changes visible.
	h := cachedHandler(store, time.Hour, clock)
	seed(t, store) // the network, written by another handler
	must(t)(h.IssueCard(ctx, issuerMD, issueCard("K-0001234")))
	must(t)(h.RecordUse(ctx, venueMD, use("K-0001234", "u1")))

	t.Run("a use recorded through the handler can be cancelled through it at once", func(t *testing.T) {
		res := must(t)(h.CancelUse(ctx, venueMD, command.CancelUse{Card: "K-0001234", Use: "u1", Reason: "wrong_card", On: d("2024-04-03")}))
		if res.Records[0].Version != 3 {
			t.Fatalf("cancellation has version %d, want 3", res.Records[0].Version)
		}
	})
	t.Run("a use id recorded through the handler is a duplicate at once", func(t *testing.T) {
		_, err := h.RecordUse(ctx, venueMD, use("K-0001234", "u1"))
		if domain.CodeOf(err) != "duplicate_use" {
			t.Fatalf("error = %v, want duplicate_use", err)
		}
	})
	t.Run("a venue that left through the handler refuses uses at once", func(t *testing.T) {
		must(t)(h.RecordUse(ctx, venueMD, use("K-0001234", "u2"))) // the venue is now cached
		must(t)(h.LeavePartner(ctx, national, command.LeavePartner{Partner: "espoo-museum", On: d("2024-04-01"), Reason: "closed"}))
		_, err := h.RecordUse(ctx, venueMD, use("K-0001234", "u3"))
		if domain.CodeOf(err) != "venue_left" {
			t.Fatalf("error = %v, want venue_left", err)
		}
	})
}

func TestCacheAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := newStore(t)
	clock := &fakeClock{now: today}
	// Two handlers with their own caches stand for two processes.
	const ttl = 2 * time.Second
	h1 := cachedHandler(store, ttl, clock)
	h2 := cachedHandler(store, ttl, clock)
	seed(t, store)
	must(t)(h1.IssueCard(ctx, issuerMD, issueCard("K-0001234")))

	t.Run("a use decided on a card another process appended to is decided again and lands", func(t *testing.T) {
		must(t)(h1.RecordUse(ctx, venueMD, use("K-0001234", "a1"))) // h1 caches version 2
		must(t)(h2.RecordUse(ctx, venueMD, use("K-0001234", "b1"))) // version 3, unseen by h1
		res := must(t)(h1.RecordUse(ctx, venueMD, use("K-0001234", "a2")))
		if res.Records[0].Version != 4 {
			t.Fatalf("use has version %d, want 4", res.Records[0].Version)
		}
		c, err := h1.LoadCard(ctx, "K-0001234")
		if err != nil || len(c.Uses()) != 3 {
			t.Fatalf("card has uses %+v (%v), want a1, b1 and a2", c.Uses(), err)
		}
	})
	t.Run("a use id another process recorded is a duplicate", func(t *testing.T) {
		must(t)(h2.RecordUse(ctx, venueMD, use("K-0001234", "b2")))
		_, err := h1.RecordUse(ctx, venueMD, use("K-0001234", "b2"))
		if domain.CodeOf(err) != "duplicate_use" {
			t.Fatalf("error = %v, want duplicate_use", err)
		}
	})
	t.Run("a card another process issued is usable although this one cached it as unregistered", func(t *testing.T) {
		_, err := h1.RecordUse(ctx, venueMD, use("K-0005678", "c1"))
		if domain.CodeOf(err) != "card_not_registered" {
			t.Fatalf("error = %v, want card_not_registered", err)
		}
		must(t)(h2.IssueCard(ctx, issuerMD, issueCard("K-0005678")))
		must(t)(h1.RecordUse(ctx, venueMD, use("K-0005678", "c1")))
	})
	t.Run("a card another process cancelled refuses uses", func(t *testing.T) {
		must(t)(h1.RecordUse(ctx, venueMD, use("K-0005678", "c2")))
		must(t)(h2.CancelCard(ctx, issuerMD, command.CancelCard{Card: "K-0005678", On: d("2024-04-02"), Reason: "holder_request"}))
		_, err := h1.RecordUse(ctx, venueMD, use("K-0005678", "c3"))
		if domain.CodeOf(err) != "card_cancelled" {
			t.Fatalf("error = %v, want card_cancelled", err)
		}
	})
	t.Run("a venue another process let leave is still accepted within the ttl and refused after it", func(t *testing.T) {
		must(t)(h1.RecordUse(ctx, venueMD, use("K-0001234", "v1"))) // h1 has the venue checked now
		must(t)(h2.LeavePartner(ctx, national, command.LeavePartner{Partner: "espoo-museum", On: d("2024-04-01"), Reason: "closed"}))
		clock.Advance(ttl - time.Millisecond)
		must(t)(h1.RecordUse(ctx, venueMD, use("K-0001234", "v2"))) // the documented window
		clock.Advance(time.Millisecond)
		_, err := h1.RecordUse(ctx, venueMD, use("K-0001234", "v3"))
		if domain.CodeOf(err) != "venue_left" {
			t.Fatalf("error = %v, want venue_left once the ttl passed", err)
		}
	})
}

func TestCacheStaysWithinItsBound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := newStore(t)
	clock := &fakeClock{now: today}
	const bound = 40
	h := cachedHandler(store, time.Second, clock, command.WithCacheSize(bound))
	seed(t, store)
	for i := range 10 {
		id := card.ID(fmt.Sprintf("K-%07d", i))
		must(t)(h.IssueCard(ctx, issuerMD, issueCard(id)))
		for j := range 5 {
			must(t)(h.RecordUse(ctx, venueMD, use(id, fmt.Sprint("u", j))))
		}
	}
	streams, events := command.CacheLen(h)
	if events+streams > bound || streams == 0 {
		t.Fatalf("cache holds %d events in %d streams, want some, and at most %d events and streams", events, streams, bound)
	}
	// An evicted card is read back in full and still decides right.
	_, err := h.RecordUse(ctx, venueMD, use("K-0000000", "u0"))
	if domain.CodeOf(err) != "duplicate_use" {
		t.Fatalf("error = %v, want duplicate_use", err)
	}
	must(t)(h.RecordUse(ctx, venueMD, use("K-0000000", "u5")))
}
