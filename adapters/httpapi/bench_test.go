package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
)

// BenchmarkRecordUseHTTP measures 8 concurrent venue clients recording
// uses over loopback HTTP (authentication, idempotency off, the command
// with its reads and append) against a raw single-row INSERT baseline from
// 8 writers in their own transactions, in the same run:
//
//	go test ./adapters/httpapi -run '^$' -bench RecordUseHTTP -benchtime 1000x
//
// The load is spread as a network's is: 256 cards of two localities'
// issuers, used at 6 venues of both localities, each use on a card picked
// by a fixed stride, so that uses of one card rarely race (a handful of
// uses per card per run). The cards and the network are written before the
// command handler under test is installed, so its cache, when it has one,
// starts cold, as a server's does for a card issued months ago. The store
// and the baseline share a pool set up as kaiku serve sets up the store's,
// and the uses and the baseline alternate in rounds, so that outside load
// on the shared machine weighs on both alike. Sub-benchmarks compare the
// handler without and with command.WithCache; each measures its own
// baseline on its own fresh database.
func BenchmarkRecordUseHTTP(b *testing.B) {
	for _, m := range []struct {
		name string
		opts []command.Option
	}{
		{name: "cache=off"},
		{name: "cache=on", opts: []command.Option{command.WithCache(time.Second)}},
	} {
		b.Run(m.name, func(b *testing.B) { benchRecordUseHTTP(b, m.opts) })
	}
}

func benchRecordUseHTTP(b *testing.B, opts []command.Option) {
	const (
		clients = 8
		cards   = 256
		stride  = 97 // coprime with cards: consecutive uses hit different cards
	)
	a := newAPI(b)
	a.seed(b)
	ctx := context.Background()
	keys := postgres.NewAPIKeys(a.pool)
	venueKeys := []string{a.keys[venue], a.keys[venueVantaa]}
	for _, l := range []struct{ locality, prefix string }{{"espoo", "espoo-venue"}, {"vantaa", "vantaa-venue"}} {
		for i := range 2 {
			id := fmt.Sprintf("%s-%d", l.prefix, i)
			a.must(b, 201, national, "POST", "/v1/partners", `{"id":"`+id+`","locality":"`+l.locality+`","name":"Teatteri",
				"kind":"venue","category":"culture","contact":{"name":"Bert Lindqvist"},"joinedOn":"2024-01-15"}`)
			a.must(b, 200, national, "POST", "/v1/partners/"+id+"/commitments", `{"guidelineVersion":"2022","via":"website","on":"2024-01-15"}`)
			k, _, err := keys.Create(ctx, domain.Principal{Role: domain.RoleVenue, Partner: id}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			venueKeys = append(venueKeys, k)
		}
	}
	if _, err := a.pool.Exec(ctx, `CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, card text, used_on date)`); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	run := func(n int, op func(worker, i int) error) (time.Duration, []time.Duration) {
		var next atomic.Int64
		lat := make([][]time.Duration, clients)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1))
					if i > n {
						return
					}
					t0 := time.Now()
					if err := op(w, i); err != nil {
						b.Error(err)
						return
					}
					lat[w] = append(lat[w], time.Since(t0))
				}
			}()
		}
		wg.Wait()
		return time.Since(start), slices.Concat(lat...)
	}
	post := func(key, path, body string, want int) error {
		req, err := http.NewRequest("POST", a.url+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		// Read the answer to its end, so that the connection is reused,
		// as a venue's client keeps its connection alive.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != want {
			return fmt.Errorf("POST %s: status %d", path, resp.StatusCode)
		}
		return nil
	}
	cardID := func(i int) string { return fmt.Sprintf("K-B%06d", i%cards) }
	issuerKeys := []string{a.keys[issuer], a.keys[issuerVantaa]}
	run(cards, func(_, i int) error {
		return post(issuerKeys[i%2], "/v1/cards", `{"id":"`+cardID(i)+`","issuedOn":"2024-03-01","kind":"personal",
			"holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2}}`, http.StatusCreated)
	})
	// Install the handler under test in place of the one that wrote the
	// network, before it served any use, on a store set up as kaiku serve
	// sets it up: a pool of its own with ConfigureStorePool and at least 16
	// connections. The baseline runs on that pool too.
	cfg, err := pgxpool.ParseConfig(a.pool.Config().ConnString())
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 16
	postgres.ConfigureStorePool(cfg)
	storePool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(storePool.Close)
	store := postgres.NewStore(storePool)
	b.Cleanup(store.Close)
	*a.commands = *command.New(store, append([]command.Option{command.WithRetries(16),
		command.WithClock(func() time.Time { return today })}, opts...)...)

	useOp := func(w, i int) error {
		body := fmt.Sprintf(`{"usedOn":"2024-04-02","id":"b%d"}`, i)
		return post(venueKeys[(w+i)%len(venueKeys)], "/v1/cards/"+cardID(i*stride)+"/uses", body, http.StatusCreated)
	}
	insertOp := func(_, i int) error {
		_, err := storePool.Exec(ctx, `INSERT INTO bench_baseline (card, used_on) VALUES ($1, '2024-04-02')`, cardID(i*stride))
		return err
	}
	// The uses and the baseline alternate in rounds, so that load from
	// outside the benchmark (the machine is shared) weighs on both alike.
	const rounds = 4
	var httpTime, baseTime time.Duration
	var lats []time.Duration
	b.ResetTimer()
	for r := range rounds {
		n := b.N/rounds + min(1, max(0, b.N%rounds-r))
		from := r*(b.N/rounds) + min(r, b.N%rounds)
		b.StartTimer()
		d, l := run(n, func(w, i int) error { return useOp(w, from+i) })
		b.StopTimer()
		httpTime += d
		lats = append(lats, l...)
		d, _ = run(n, func(w, i int) error { return insertOp(w, from+i) })
		baseTime += d
	}
	slices.Sort(lats)
	uses := float64(b.N) / httpTime.Seconds()
	rows := float64(b.N) / baseTime.Seconds()
	b.ReportMetric(uses, "uses/s")
	b.ReportMetric(rows, "baseline_rows/s")
	b.ReportMetric(uses/rows, "ratio")
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99_ms")
	}
}
