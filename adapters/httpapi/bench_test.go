package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRecordUseHTTP measures 8 concurrent venues recording uses over
// loopback HTTP (authentication, idempotency off, the command with its
// reads and append) against a raw single-row INSERT baseline from 8
// writers in their own transactions, in the same run:
//
//	go test ./adapters/httpapi -run '^$' -bench RecordUseHTTP -benchtime 2000x
func BenchmarkRecordUseHTTP(b *testing.B) {
	a := newAPI(b)
	a.seed(b)
	const clients = 8
	for i := range clients {
		a.issue(b, fmt.Sprintf("K-B%06d", i))
	}
	ctx := context.Background()
	if _, err := a.pool.Exec(ctx, `CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, card text, used_on date)`); err != nil {
		b.Fatal(err)
	}
	key := a.keys[venue]
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
	b.ResetTimer()
	httpTime, lats := run(b.N, func(w, i int) error {
		// Each client uses its own card, as venues do; the per-card
		// history grows, so -benchtime bounds it.
		body := fmt.Sprintf(`{"usedOn":"2024-04-02","id":"b%d"}`, i)
		req, err := http.NewRequest("POST", a.url+fmt.Sprintf("/v1/cards/K-B%06d/uses", w), strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("use %d: status %d", i, resp.StatusCode)
		}
		return nil
	})
	b.StopTimer()
	baseTime, _ := run(b.N, func(w, i int) error {
		_, err := a.pool.Exec(ctx, `INSERT INTO bench_baseline (card, used_on) VALUES ($1, '2024-04-02')`, fmt.Sprintf("K-B%06d", w))
		return err
	})
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
