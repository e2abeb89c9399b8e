package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// appends measures single-event appends (one event per transaction) from
// 1 and 8 writers, each on its own stream, against single-row INSERT
// transactions of the same columns into the plain table. It runs last:
// its events are of a type no read model reads.
func (r *run) appends(ctx context.Context) error {
	tag := time.Now().UnixNano()
	for _, w := range []int{1, 8} {
		// Two rounds of store then INSERT, so that both see the same load
		// on a shared machine.
		half := budget{r.lim.appends.n / 2, r.lim.appends.max / 2}
		p := r.cfg.progress(fmt.Sprintf("single-event appends and INSERTs, %d writers", w), int64(2*r.lim.appends.n))
		versions := make([]int64, w)
		var n, bn int
		var el, bel time.Duration
		for round := range 2 {
			k0, e0, _, err := workers(ctx, w, half, func(ctx context.Context, k, i int) error {
				defer p.Add(1)
				stream := domain.NewStreamID("bench", fmt.Sprintf("%d-%d-%d", tag, w, k))
				_, err := r.store.Append(ctx, stream, domain.Version(versions[k]), benchRecord(i))
				if err == nil {
					versions[k]++
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("append with %d writers: %w", w, err)
			}
			k1, e1, _, err := workers(ctx, w, budget{k0, 2 * half.max}, func(ctx context.Context, k, i int) error {
				defer p.Add(1)
				rec := benchRecord(i)
				return postgres.InsertBaseline(ctx, r.pool, rec, domain.StreamID(fmt.Sprintf("bench-plain-%d-%d", w, k)), int64(round*half.n+i))
			})
			if err != nil {
				return fmt.Errorf("INSERT baseline with %d writers: %w", w, err)
			}
			n, el, bn, bel = n+k0, el+e0, bn+k1, bel+e1
		}
		p.Done()
		v := float64(n) / el.Seconds()
		base := float64(bn) / bel.Seconds()
		f := Figure{Name: fmt.Sprintf("single-event appends, %d writer%s", w, map[bool]string{true: "s"}[w > 1]), Unit: "events/s",
			Value: v, Baseline: base, BaselineName: fmt.Sprintf("INSERT, %d writer%s", w, map[bool]string{true: "s"}[w > 1]),
			Ratio: ratio(v, base), Note: fmt.Sprintf("%d events", n)}
		if w == 8 {
			f.Goal = "≥ 0.8× INSERT"
			f.Met = ptr(ratio(v, base) >= 0.8)
			r.insert8 = base
		}
		r.rep.add(f)
	}
	return nil
}

// benchRecord is a typical event of about 200 bytes.
func benchRecord(n int) domain.Record {
	return domain.Record{
		ID: domain.NewEventID(), Type: "bench.appended", SchemaVersion: 1, OccurredAt: time.Now(),
		Principal: domain.System, CorrelationID: domain.NewEventID(),
		Data: fmt.Appendf(nil, `{"card":"K-%07d","issuer":"espoo-sos-1","issuedOn":"2024-03-01","kind":"personal",`+
			`"holder":{"birthYear":1971,"postalCode":"02100","minorChildren":2,"lifeSituation":"student"}}`, n),
	}
}

// finish completes the figures whose baseline came from a later phase.
func (r *run) finish() {
	f := &r.rep.Figures[r.httpFigure]
	f.Baseline = r.insert8
	f.Ratio = ratio(f.Value, r.insert8)
	f.Met = ptr(f.Ratio >= 0.5)
}
