package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/dataset"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/catalog"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// use is a use the dataset recorded, valid to record again (same card,
// venue and date) through the API.
type use struct {
	cmd    dataset.Command
	rec    command.RecordUse
	events []domain.Record // what the command appended
}

type run struct {
	cfg   Config
	lim   limits
	pool  *pgxpool.Pool
	store *postgres.Store
	rep   *Report

	mem        *Mem
	total      dataset.Totals
	until      domain.Date
	locality   locality.ID
	uses       []use // the dataset's last uses, one per card
	rebuilt    map[string]catalog.Version
	insert8    float64 // rows/s of the 8-writer INSERT baseline, for the HTTP ratio
	httpFigure int     // index of the HTTP figure, completed in finish
	url        string  // the benchmark database
	venueKey   map[string]string
	inProcRSS  float64
	resetPeak  bool
}

func (r *run) generate(ctx context.Context) error {
	r.until = domain.MustDate("2025-12-31")
	dc := dataset.Config{Scale: r.cfg.Scale, Seed: r.cfg.Seed, Until: r.until}
	tot, err := dataset.Generate(dc, func(dataset.Command) error { return nil })
	if err != nil {
		return err
	}
	r.total = tot
	r.mem = NewMem()
	h := command.New(r.mem, command.WithCache(time.Hour), command.WithCacheSize(2_000_000)) // one writer: the cache is exact
	p := r.cfg.Progress("generate (commands through the handlers, in memory)", int64(tot.Commands))
	last := map[string]int{}
	var recent []use
	if _, err := dataset.Generate(dc, func(c dataset.Command) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := dataset.Apply(ctx, h, c)
		if err != nil {
			return fmt.Errorf("%T on %s: %w", c.Cmd, c.On, err)
		}
		switch x := c.Cmd.(type) {
		case command.RegisterLocality:
			if r.locality == "" {
				r.locality = x.ID
			}
		case command.RecordUse:
			u := use{c, x, res.Records}
			if i, ok := last[string(x.Card)]; ok {
				recent[i] = u
			} else {
				last[string(x.Card)] = len(recent)
				recent = append(recent, u)
			}
		}
		p.Add(1)
		return nil
	}); err != nil {
		return err
	}
	p.Done()
	// The cards used last: their venues were active then, so the same use
	// is valid again. Keep up to 2,000.
	slices.SortStableFunc(recent, func(a, b use) int { return b.cmd.On.Compare(a.cmd.On) })
	r.uses = recent[:min(len(recent), 2000)]
	r.rep.Events = int64(r.mem.Len())
	fmt.Fprintf(r.cfg.Log, "bench: dataset %d commands → %d events (%d cards, %d uses, %d venues, %d issuers)\n",
		tot.Commands, r.mem.Len(), tot.Cards, tot.Uses, tot.Venues, tot.Issuers)
	return nil
}

func (r *run) importLog(ctx context.Context) error {
	batches := importBatches(r.mem.Log(), r.lim.batch)
	n := int64(r.mem.Len())
	// Each batch goes to the store and then, as COPY, to the plain table,
	// so that both see the same load on a shared machine.
	p := r.cfg.Progress("import (store.AppendBatch, and COPY of each batch for the baseline)", n)
	var storeEl, copyEl time.Duration
	for _, b := range batches {
		t0 := time.Now()
		if _, err := r.store.AppendBatch(ctx, b); err != nil {
			return err
		}
		storeEl += time.Since(t0)
		var rows [][]any
		for _, part := range b {
			for _, rec := range part.Records {
				row, err := postgres.BaselineRow(rec, rec.Stream, int64(rec.Version))
				if err != nil {
					return err
				}
				rows = append(rows, row)
			}
		}
		t0 = time.Now()
		if err := postgres.CopyBaseline(ctx, r.pool, rows); err != nil {
			return fmt.Errorf("copy baseline: %w", err)
		}
		copyEl += time.Since(t0)
		p.Add(int64(len(rows)))
	}
	p.Done()
	v, base := float64(n)/storeEl.Seconds(), float64(n)/copyEl.Seconds()
	r.rep.add(Figure{Name: "batch import of the dataset", Unit: "events/s", Value: v, Baseline: base, BaselineName: "COPY",
		Ratio: ratio(v, base), Goal: "≥ 0.7× COPY", Met: ptr(ratio(v, base) >= 0.7),
		Note: fmt.Sprintf("%d events in %d batches through store.AppendBatch (COPY)", n, len(batches))})
	// The in-memory log is no longer needed: free it before the server phases.
	r.mem = nil
	runtime.GC()
	debug.FreeOSMemory()
	return nil
}

func (r *run) rebuild(ctx context.Context) error {
	// Baseline: a raw ordered read of the whole log, page by page, timed
	// on the second pass so that it reads a cache as warm as the rebuilds.
	var read int64
	var base float64
	for _, what := range []string{"raw ordered read of the log (ReadAll), warming", "raw ordered read of the log (ReadAll)"} {
		p := r.cfg.Progress(what, r.rep.Events)
		t0 := time.Now()
		read = 0
		for after := domain.Position(0); ; {
			rs, err := r.store.ReadAll(ctx, after, 20000)
			if err != nil {
				return err
			}
			if len(rs) == 0 {
				break
			}
			read += int64(len(rs))
			p.Add(int64(len(rs)))
			after = rs[len(rs)-1].Position
		}
		p.Done()
		base = float64(read) / time.Since(t0).Seconds()
	}
	r.rebuilt = map[string]catalog.Version{}
	for _, name := range catalog.Names() {
		p := r.cfg.Progress("rebuild "+name, read)
		var shown int64
		out, err := catalog.Rebuild(ctx, r.pool, r.store, name, catalog.RebuildOptions{Progress: func(done, target int64, _ float64) {
			// done and target are log positions, not counts: show the share.
			if target > 0 {
				est := int64(float64(read) * float64(done) / float64(target))
				p.Add(est - shown)
				shown = est
			}
		}})
		if err != nil {
			return err
		}
		p.Done()
		r.rebuilt[name] = out.Version
		v := float64(out.Events) / out.Elapsed.Seconds()
		f := Figure{Name: "rebuild " + name, Unit: "events/s", Value: v, Baseline: base, BaselineName: "raw ReadAll", Ratio: ratio(v, base)}
		if name == catalog.Stats {
			f.Goal = "≥ 100,000/s and ≥ 0.5× raw read"
			f.Met = ptr(v >= 100000 && ratio(v, base) >= 0.5)
		}
		r.rep.add(f)
	}
	return nil
}

// timed runs op n times (or until d passed) and returns the sorted
// latencies.
func timed(ctx context.Context, b budget, op func(context.Context, int) error) ([]time.Duration, error) {
	var lats []time.Duration
	end := time.Now().Add(b.max)
	for i := 0; i < b.n && time.Now().Before(end); i++ {
		t0 := time.Now()
		if err := op(ctx, i); err != nil {
			return nil, err
		}
		lats = append(lats, time.Since(t0))
	}
	slices.Sort(lats)
	return lats, nil
}

func (r *run) queries(ctx context.Context) error {
	sq := stats.NewQueries(r.pool, r.rebuilt[catalog.Stats].Schema)
	hq := history.NewQueries(r.pool, r.rebuilt[catalog.History].Schema)
	nq := network.NewQueries(r.pool, r.rebuilt[catalog.Network].Schema)
	cq := cards.NewQueries(r.pool, r.rebuilt[catalog.Cards].Schema)
	year := r.until.Year()
	past := r.until.AddDays(-2 * 365)
	base, err := timed(ctx, r.lim.queries, func(ctx context.Context, _ int) error {
		_, err := r.pool.Exec(ctx, `SELECT 1`)
		return err
	})
	if err != nil {
		return err
	}
	b50, b99 := percentile(base, 50), percentile(base, 99)
	scale10 := r.cfg.Scale >= 10
	for _, q := range []struct {
		name  string
		goal  string
		limit float64
		op    func(context.Context, int) error
	}{
		{"national annual table " + strconv.Itoa(year), "p99 < 5 ms at --scale 10", 5, func(ctx context.Context, _ int) error {
			_, err := sq.National(ctx, year)
			return err
		}},
		{"breakdown by month of " + string(r.locality), "", 0, func(ctx context.Context, _ int) error {
			_, err := sq.Breakdown(ctx, stats.Filter{Locality: r.locality, GroupBy: stats.ByMonth,
				From: domain.NewDate(year, time.January, 1), To: domain.NewDate(year, time.December, 31)})
			return err
		}},
		{"history page (100, " + string(r.locality) + ")", "p99 < 10 ms at --scale 10", 10, func(ctx context.Context, _ int) error {
			_, err := hq.List(ctx, history.Filter{Locality: r.locality, Limit: 100})
			return err
		}},
		{"network of " + string(r.locality) + " as of " + past.String(), "", 0, func(ctx context.Context, _ int) error {
			_, err := nq.AsOf(ctx, r.locality, past)
			return err
		}},
		// What GET /v1/cards/{id} asks of the read model for a venue: the
		// card with the venue's facts (one statement), and the decision
		// (the dataset's last uses, one per card, round robin).
		{"card check at a venue", "p99 < 5 ms at --scale 10", 5, func(ctx context.Context, i int) error {
			if len(r.uses) == 0 {
				return errors.New("the dataset recorded no uses to check cards of")
			}
			u := r.uses[i%len(r.uses)].rec
			c, f, err := cq.Check(ctx, u.Card, u.Venue)
			if errors.Is(err, domain.ErrNotFound) {
				return nil // answered: not registered (the rebuild stopped short of it)
			}
			if err != nil {
				return err
			}
			_ = c.Standing.UsableAt(u.UsedOn, f)
			return nil
		}},
	} {
		p := r.cfg.progress("query "+q.name, int64(r.lim.queries.n))
		lats, err := timed(ctx, r.lim.queries, func(ctx context.Context, i int) error {
			defer p.Add(1)
			return q.op(ctx, i)
		})
		p.Done()
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		p50, p99 := percentile(lats, 50), percentile(lats, 99)
		r.rep.add(Figure{Name: "query " + q.name + " p50", Unit: "ms", Value: p50, Baseline: b50, BaselineName: "SELECT 1", Ratio: ratio(p50, b50),
			Note: fmt.Sprintf("%d runs through the Queries", len(lats))})
		f := Figure{Name: "query " + q.name + " p99", Unit: "ms", Value: p99, Baseline: b99, BaselineName: "SELECT 1", Ratio: ratio(p99, b99), Goal: q.goal}
		if q.goal != "" && scale10 {
			f.Met = ptr(p99 < q.limit)
		}
		r.rep.add(f)
	}
	return nil
}

// workers runs op from w goroutines until n calls were made or d passed,
// and returns how many succeeded, the elapsed time and sorted latencies.
func workers(ctx context.Context, w int, b budget, op func(ctx context.Context, worker, i int) error) (int, time.Duration, []time.Duration, error) {
	var next atomic.Int64
	lats := make([][]time.Duration, w)
	errs := make([]error, w)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(b.max)
	for k := range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.n || time.Now().After(end) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, k, i); err != nil {
					errs[k] = err
					return
				}
				lats[k] = append(lats[k], time.Since(t0))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	for _, err := range errs {
		if err != nil {
			return 0, 0, nil, err
		}
	}
	return len(all), el, all, nil
}

func (r *run) httpUses(ctx context.Context) error {
	if len(r.uses) < 8 {
		return fmt.Errorf("the dataset has %d used cards, fewer than the 8 clients need: use a larger --scale", len(r.uses))
	}
	cmds := command.New(r.store, command.WithRetries(10), command.WithCache(time.Second)) // as kaiku serve runs it
	keys := postgres.NewAPIKeys(r.pool)
	venueKey := map[string]string{}
	r.venueKey = venueKey
	for _, u := range r.uses {
		v := string(u.rec.Venue)
		if _, ok := venueKey[v]; ok {
			continue
		}
		k, _, err := keys.Create(ctx, u.cmd.Principal, "bench")
		if err != nil {
			return fmt.Errorf("API key for %s: %w", u.cmd.Principal, err)
		}
		venueKey[v] = k
	}
	runner, err := projections.NewRunner(projections.Config{DB: r.pool, Store: r.store})
	if err != nil {
		return err
	}
	srv := httpapi.New(httpapi.Config{
		Keys: keys, Idempotency: postgres.NewIdempotency(r.pool),
		Routes: httpapi.Routes(httpapi.Deps{Commands: cmds, Views: r.cfg.Views(r.pool, r.store), Projections: runner, Now: time.Now,
			Verify: func(ctx context.Context) (audit.Report, error) { return postgres.Verify(ctx, r.pool, nil) }}),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()
	url := "http://" + ln.Addr().String()
	// Reset the peak RSS so VmHWM covers the server phase only (the
	// generator's heap is garbage by now: return it to the OS first).
	runtime.GC()
	debug.FreeOSMemory()
	r.resetPeak = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	const clients = 8
	post := func(ctx context.Context, u use, id string) error {
		body := fmt.Sprintf(`{"usedOn":%q,"id":%q,"childTickets":0}`, u.rec.UsedOn.String(), id)
		req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/cards/"+string(u.rec.Card)+"/uses", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+venueKey[string(u.rec.Venue)])
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var msg [512]byte
		n, _ := resp.Body.Read(msg[:])
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("record use of %s at %s: %d %s", u.rec.Card, u.rec.Venue, resp.StatusCode, msg[:n])
		}
		return nil
	}
	// Keep the cards that take a use now (a later cancellation can
	// refuse one); this warms the server too.
	var valid []use
	for i, u := range r.uses {
		if len(valid) >= 256 || i >= 400 {
			break
		}
		if err := post(ctx, u, fmt.Sprintf("bench-warm-%d", i)); err == nil {
			valid = append(valid, u)
		}
	}
	if len(valid) < clients {
		return fmt.Errorf("only %d of the dataset's cards take a use through the API; the dataset or the API changed", len(valid))
	}
	r.uses = valid
	p := r.cfg.progress("HTTP record-use, 8 clients", int64(r.lim.http.n))
	n, el, lats, err := workers(ctx, clients, r.lim.http, func(ctx context.Context, w, i int) error {
		// Client w uses its own slice of the cards, as venues do.
		defer p.Add(1)
		u := valid[(i*clients+w)%len(valid)]
		return post(ctx, u, fmt.Sprintf("bench-%d", i))
	})
	p.Done()
	if err != nil {
		return err
	}
	v := float64(n) / el.Seconds()
	r.httpFigure = len(r.rep.Figures)
	r.rep.add(Figure{Name: "HTTP record-use, 8 clients", Unit: "uses/s", Value: v, BaselineName: "INSERT, 8 writers",
		Goal: "≥ 0.5× INSERT", Note: fmt.Sprintf("%d uses on loopback, in-process server", n)})
	r.rep.add(Figure{Name: "HTTP record-use p99 latency", Unit: "ms", Value: percentile(lats, 99),
		Note: fmt.Sprintf("p50 %.2f ms", percentile(lats, 50))})
	r.inProcRSS = vmHWM()
	return nil
}

// vmHWM returns the process's peak resident set in MB, or 0.
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return hwmOf(string(b))
}

// hwmOf reads VmHWM (in MB) from a /proc/<pid>/status text, or 0.
func hwmOf(status string) float64 {
	for _, l := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
