package bench

import (
	"strings"
	"testing"
	"time"
)

func TestMarkdownPrintsOneRowPerFigure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fig  Figure
		want string
	}{
		{"a figure without a goal shows dashes", Figure{Name: "rebuild history", Unit: "events/s", Value: 2418},
			"| rebuild history | 2418 events/s | — | — | — | — |"},
		{"a missed goal is bold", Figure{Name: "appends", Unit: "events/s", Value: 800, Baseline: 1000, BaselineName: "INSERT",
			Ratio: 0.8, Goal: "≥ 0.9× INSERT", Met: ptr(false)},
			"| appends | 800.0 events/s | 1000 events/s (INSERT) | 0.80× | ≥ 0.9× INSERT | **no** |"},
		{"a goal of another scale is not applicable", Figure{Name: "p99", Unit: "ms", Value: 3.5, Goal: "< 5 ms at --scale 10"},
			"| p99 | 3.50 ms | — | — | < 5 ms at --scale 10 | n/a |"},
		{"a note follows the name", Figure{Name: "rss", Unit: "MB", Value: 80, Note: "in process", Met: ptr(true), Goal: "< 200 MB"},
			"| rss (in process) | 80.0 MB | — | — | < 200 MB | yes |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &Report{Scale: 1, Started: time.Now(), Figures: []Figure{tc.fig}}
			var b strings.Builder
			if err := r.Markdown(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.want+"\n") {
				t.Fatalf("table:\n%s\nlacks the row\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestPercentileTakesTheNearestRank(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   float64
	}{
		{"no samples give zero", nil, 99, 0},
		{"one sample is every percentile", []time.Duration{ms(7)}, 99, 7},
		{"the median of 1..100 ms is 50 ms", hundred, 50, 50},
		{"the 99th percentile of 1..100 ms is 99 ms", hundred, 99, 99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}
