package main

import (
	"fmt"
	"io"
	"time"
)

// progress prints "what: done/total (rate/s, ETA)" to w at most once a
// second, and a final line on Done. Long work (seeding, rebuilds, imports)
// reports through it so a person sees it move.
type progress struct {
	w     io.Writer
	what  string
	total int64
	done  int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, what string, total int64) *progress {
	now := time.Now()
	return &progress{w: w, what: what, total: total, start: now, last: now}
}

// Add counts n more units done and prints when a second has passed.
func (p *progress) Add(n int64) {
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= time.Second {
		p.last = now
		p.print(false)
	}
}

// Done prints the final line.
func (p *progress) Done() { p.print(true) }

func (p *progress) print(final bool) {
	el := time.Since(p.start).Seconds()
	rate := float64(p.done) / max(el, 1e-9)
	switch {
	case final:
		fmt.Fprintf(p.w, "%s: %d done in %.1fs (%.0f/s)\n", p.what, p.done, el, rate)
	case p.total > 0:
		left := float64(p.total-p.done) / max(rate, 1e-9)
		fmt.Fprintf(p.w, "%s: %d/%d (%.0f%%, %.0f/s, %s left)\n", p.what, p.done, p.total,
			100*float64(p.done)/float64(p.total), rate, (time.Duration(left) * time.Second).Round(time.Second))
	default:
		fmt.Fprintf(p.w, "%s: %d (%.0f/s)\n", p.what, p.done, rate)
	}
}
