package command

import (
	"fmt"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
)

// events returns n placeholder events.
func events(n int) []domain.Event {
	out := make([]domain.Event, n)
	for i := range out {
		out[i] = card.UseRecorded{Use: card.UseID(fmt.Sprint("u", i))}
	}
	return out
}

func TestCachePut(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 6, 15, 10, 0, 0, 0, time.UTC)
	type want struct {
		stream  domain.StreamID
		present bool
		version domain.Version
		checked time.Time
	}
	tests := []struct {
		name string
		max  int
		puts []entry
		get  []domain.StreamID // read in this order after the puts, marking use
		more []entry           // put after the reads
		want []want
	}{
		{name: "an older version never replaces a newer one", max: 100,
			puts: []entry{{stream: "card-K-1", events: events(3), version: 3, checked: t0},
				{stream: "card-K-1", events: events(2), version: 2, checked: t0.Add(time.Second)}},
			want: []want{{stream: "card-K-1", present: true, version: 3, checked: t0}}},
		{name: "the same version read later only renews the check", max: 100,
			puts: []entry{{stream: "card-K-1", events: events(3), version: 3, checked: t0},
				{stream: "card-K-1", events: events(3), version: 3, checked: t0.Add(time.Second)},
				{stream: "card-K-1", events: events(3), version: 3, checked: t0.Add(-time.Second)}},
			want: []want{{stream: "card-K-1", present: true, version: 3, checked: t0.Add(time.Second)}}},
		{name: "a newer version replaces the entry", max: 100,
			puts: []entry{{stream: "card-K-1", events: events(3), version: 3, checked: t0},
				{stream: "card-K-1", events: events(4), version: 4, checked: t0}},
			want: []want{{stream: "card-K-1", present: true, version: 4, checked: t0}}},
		{name: "the least recently used stream is evicted past the bound", max: 10,
			puts: []entry{{stream: "card-K-1", events: events(4), version: 4},
				{stream: "card-K-2", events: events(4), version: 4}},
			get:  []domain.StreamID{"card-K-1"},
			more: []entry{{stream: "card-K-3", events: events(4), version: 4}},
			want: []want{{stream: "card-K-1", present: true, version: 4}, {stream: "card-K-2"},
				{stream: "card-K-3", present: true, version: 4}}},
		{name: "a stream longer than the bound is not kept", max: 10,
			puts: []entry{{stream: "card-K-1", events: events(4), version: 4},
				{stream: "card-K-1", events: events(10), version: 10}},
			want: []want{{stream: "card-K-1"}}},
		{name: "empty streams count against the bound", max: 3,
			puts: []entry{{stream: "card-K-1"}, {stream: "card-K-2"}, {stream: "card-K-3"}, {stream: "card-K-4"}},
			want: []want{{stream: "card-K-1"}, {stream: "card-K-2", present: true}, {stream: "card-K-4", present: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(time.Second, tt.max)
			for _, e := range tt.puts {
				c.put(e)
			}
			for _, s := range tt.get {
				c.get(s)
			}
			for _, e := range tt.more {
				c.put(e)
			}
			for _, w := range tt.want {
				e, ok := c.get(w.stream)
				if ok != w.present || e.version != w.version || !e.checked.Equal(w.checked) || len(e.events) != int(e.version) {
					t.Errorf("%s: present %v version %d checked %v with %d events, want present %v version %d checked %v",
						w.stream, ok, e.version, e.checked, len(e.events), w.present, w.version, w.checked)
				}
			}
			if streams, n := c.len(); n+streams > tt.max {
				t.Errorf("cache holds %d events in %d streams, bound %d", n, streams, tt.max)
			}
		})
	}
}
