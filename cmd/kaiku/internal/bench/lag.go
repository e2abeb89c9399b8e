package bench

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
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/catalog"
)

// lagPhase appends uses at a steady rate (from 8 writers, one use per
// append, each a copy of a use the dataset recorded with a new use id)
// while a runner tails the log into the live statistics; the lag of one
// use is the time from its append returning to the statistics checkpoint
// passing its position, polled every millisecond. The appends skip the
// command handler's reads, so the rate is the log's, not the commands'
// (the HTTP figure measures those).
func (r *run) lagPhase(ctx context.Context) error {
	v := r.rebuilt[catalog.Stats]
	p, err := catalog.Projection(v, nil)
	if err != nil {
		return err
	}
	runner, err := projections.NewRunner(projections.Config{DB: r.pool, Store: r.store}, p)
	if err != nil {
		return err
	}
	rctx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- runner.Run(rctx) }()
	defer func() { stop(); <-ran }()
	checkpoint := func(ctx context.Context) (domain.Position, error) {
		var pos int64
		err := r.pool.QueryRow(ctx, `SELECT position FROM projection_checkpoints WHERE name = $1`, p.Name()).Scan(&pos)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		return domain.Position(pos), err
	}
	// Let the runner reach the head (the HTTP phase's uses) first.
	head, err := r.store.Head(ctx)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		at, err := checkpoint(ctx)
		if err != nil {
			return err
		}
		if at >= head {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the statistics runner did not reach the head %d in 2 minutes (at %d)", head, at)
		}
		time.Sleep(20 * time.Millisecond)
	}

	type sent struct {
		pos domain.Position
		at  time.Time
	}
	var (
		mu      sync.Mutex
		pending []sent
		lags    []time.Duration
		failed  error
	)
	jobs := make(chan int, 64)
	rate := r.lim.lagRate
	total := int(r.lim.lag.Seconds() * float64(rate))
	start := time.Now()
	stopAt := start.Add(r.lim.lag + time.Second) // queued work past this is skipped
	skipped := 0
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range jobs {
				if time.Now().After(stopAt) {
					mu.Lock()
					skipped++
					mu.Unlock()
					continue
				}
				u := r.uses[(i*8+w)%len(r.uses)]
				recs, err := again(u.events, fmt.Sprintf("lag-%d", i))
				var out []domain.Record
				if err == nil {
					out, err = r.store.Append(ctx, recs[0].Stream, domain.AnyVersion, recs...)
				}
				now := time.Now()
				mu.Lock()
				if err != nil && failed == nil {
					failed = err
				}
				if err == nil {
					pending = append(pending, sent{out[len(out)-1].Position, now})
				}
				mu.Unlock()
			}
		})
	}
	// The poller: every millisecond, read the checkpoint and settle the
	// appends it has passed.
	pollDone := make(chan struct{})
	pctx, stopPoll := context.WithCancel(ctx)
	go func() {
		defer close(pollDone)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			at, err := checkpoint(pctx)
			if err != nil {
				continue
			}
			now := time.Now()
			mu.Lock()
			keep := pending[:0]
			for _, s := range pending {
				if s.pos <= at {
					lags = append(lags, now.Sub(s.at))
				} else {
					keep = append(keep, s)
				}
			}
			pending = keep
			mu.Unlock()
		}
	}()
	prog := r.cfg.Progress(fmt.Sprintf("lag: appending uses at %d/s", rate), int64(total))
	interval := time.Second / time.Duration(rate)
	dropped := 0
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- i:
		default:
			dropped++ // the writers are behind: the rate is what they keep up with
		}
		prog.Add(1)
	}
	close(jobs)
	wg.Wait()
	sendEl := time.Since(start)
	prog.Done()
	// Wait (bounded) for the runner to pass the last append.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(pending)
		mu.Unlock()
		if n == 0 {
			break
		}
	}
	stopPoll()
	<-pollDone
	if failed != nil {
		return fmt.Errorf("record use while measuring lag: %w", failed)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	achieved := float64(len(lags)+len(pending)) / sendEl.Seconds()
	note := fmt.Sprintf("%d use events appended at %.0f/s achieved by 8 writers, checkpoint polled every 1 ms", len(lags), achieved)
	if dropped+skipped > 0 || len(pending) > 0 {
		note += fmt.Sprintf("; %d not sent (writers behind), %d never seen within 10 s", dropped+skipped, len(pending))
	}
	r.rep.add(Figure{Name: "end-to-end lag p50, append → statistics checkpoint", Unit: "ms", Value: percentile(lags, 50), Note: note})
	f := Figure{Name: "end-to-end lag p99", Unit: "ms", Value: percentile(lags, 99), Goal: "p99 < 100 ms at 1,000 events/s"}
	f.Met = ptr(percentile(lags, 99) < 100 && len(pending) == 0 && achieved >= 0.9*float64(rate))
	r.rep.add(f)
	return nil
}

// again returns copies of a command's records with new event ids and, in
// the payload, a new use id, so that they are new facts of the same shape.
func again(recs []domain.Record, useID string) ([]domain.Record, error) {
	if len(recs) == 0 {
		return nil, errors.New("the dataset's use appended no event")
	}
	out := make([]domain.Record, len(recs))
	for i, rec := range recs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(rec.Data, &m); err != nil {
			return nil, fmt.Errorf("copy %s: %w", rec.Name(), err)
		}
		if _, ok := m["use"]; ok {
			m["use"], _ = json.Marshal(useID)
		}
		data, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		rec.ID, rec.CorrelationID, rec.CausationID = domain.NewEventID(), domain.NewEventID(), ""
		rec.OccurredAt, rec.Data = time.Now(), data
		rec.Version, rec.Position, rec.RecordedAt = 0, 0, time.Time{}
		out[i] = rec
	}
	return out, nil
}
