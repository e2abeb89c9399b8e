package stats_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/projections/stats"
)

func cell(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func crossRows(rs []stats.CrossUseRow) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s:%s/%s/%s/%s", r.Key, cell(r.CardsUsed), cell(r.AdultUses), cell(r.ChildTickets), cell(r.TotalUses)))
	}
	return fmt.Sprint(s)
}

// TestCrossUse counts uses of cards outside their home locality: six
// espoo cards at a vantaa venue in 2024 (one of them twice, one use
// cancelled), one vantaa card twice at espoo in 2024 and once in 2025,
// and home uses that count nowhere here.
func TestCrossUse(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	l.add(guideline.Stream, guideline.National2022()) // small-cell threshold 5
	for _, id := range []locality.ID{"espoo", "vantaa"} {
		l.add(locality.Stream(id), locality.Registered{ID: id, Name: string(id), Municipalities: []string{"049"}, Scope: locality.ScopeNational, JoinedOn: d("2020-01-01")})
	}
	for i := 1; i <= 6; i++ {
		id := card.ID(fmt.Sprintf("E%d", i))
		l.add(card.Stream(id), issued(id, "espoo-sos-1", "espoo", "2024-01-10", holder(1980, "02100")))
		l.add(card.Stream(id), use("u1", "vantaa-hall", "vantaa", "2024-03-01", "sport", card.UseEvent, 1))
		l.add(card.Stream(id), use("home", "espoo-museum", "espoo", "2024-03-02", "culture", card.UseEvent, 0))
	}
	l.add(card.Stream("E1"), use("u2", "vantaa-hall", "vantaa", "2024-04-01", "sport", card.UseEvent, 0))
	l.add(card.Stream("E2"), use("u3", "vantaa-hall", "vantaa", "2024-04-01", "sport", card.UseEvent, 0))
	l.add(card.Stream("E2"), card.UseCancelled{Use: "u3", On: d("2024-04-01")})
	l.add(card.Stream("V1"), issued("V1", "vantaa-sos-1", "vantaa", "2024-01-10", holder(1980, "01300")))
	l.add(card.Stream("V1"), use("u1", "espoo-museum", "espoo", "2024-05-01", "culture", card.UseEvent, 0))
	l.add(card.Stream("V1"), use("u2", "espoo-museum", "espoo", "2024-06-01", "culture", card.UseEvent, 0))
	l.add(card.Stream("V1"), use("u3", "espoo-museum", "espoo", "2025-01-02", "culture", card.UseEvent, 0))
	l.settle()
	q := build(t, l, "stats_cross", 100)
	ctx := context.Background()
	tests := []struct {
		name string
		f    stats.CrossUseFilter
		want string
	}{
		{name: "national sees every cell by year, home and venue locality, cancelled uses left out",
			f:    stats.CrossUseFilter{},
			want: "[2024/espoo/vantaa:6/7/6/13 2024/vantaa/espoo:1/2/0/2 2025/vantaa/espoo:1/1/0/1]"},
		{name: "suppressed, the small cells are hidden and the zero stays",
			f:    stats.CrossUseFilter{Suppress: true},
			want: "[2024/espoo/vantaa:6/7/6/13 2024/vantaa/espoo:-/-/-/- 2025/vantaa/espoo:-/-/-/-]"},
		{name: "a locality's rows are those where it is home or venue, within the years asked",
			f:    stats.CrossUseFilter{Locality: "vantaa", From: 2025, To: 2025},
			want: "[2025/vantaa/espoo:1/1/0/1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := q.CrossUse(ctx, tt.f)
			if err != nil || crossRows(got) != tt.want {
				t.Fatalf("CrossUse(%+v) = %s, %v; want %s", tt.f, crossRows(got), err, tt.want)
			}
		})
	}
	first, last, ok, err := q.Years(ctx)
	if err != nil || !ok || first != 2024 || last != 2025 {
		t.Fatalf("Years = %d, %d, %v, %v; want 2024, 2025", first, last, ok, err)
	}
}
