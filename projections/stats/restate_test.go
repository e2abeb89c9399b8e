package stats_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/disclosure"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections/stats"
)

func TestRestatement(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	scenario(l)
	ctx := context.Background()
	live := build(t, l, "stats_live", 5000)

	bands := guideline.National2022().Rules
	bands.AgeBands = []int{18, 30, 60}
	byBands := build(t, l, "stats_bands", 5000, stats.WithRules(bands))
	byRules2022 := build(t, l, "stats_2022", 5000, stats.WithRules(guideline.National2022().Rules))

	t.Run("restating under other age bands changes only age-group figures", func(t *testing.T) {
		// 2021 is left out: it was counted under the 2015 rules, which
		// differ from the base of these bands in more than bands.
		diffs, err := stats.Compare(ctx, live, byBands, []int{2023, 2024})
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) == 0 {
			t.Fatal("no differences; the new bands should regroup ages")
		}
		for _, df := range diffs {
			if df.Dimension != "ageGroup" {
				t.Errorf("a non-age-group figure changed: %+v", df)
			}
		}
		for _, y := range []int{2023, 2024} {
			a, _ := live.National(ctx, y)
			b, _ := byBands.National(ctx, y)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("national %d changed:\n%+v\n%+v", y, a, b)
			}
		}
	})

	t.Run("the restated age groups follow the new bands", func(t *testing.T) {
		rows, err := byBands.Breakdown(ctx, stats.Filter{From: d("2024-01-01"), To: d("2024-12-31"), GroupBy: stats.ByAgeGroup})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range rows {
			keys = append(keys, r.Key)
		}
		// K3/K4 24 and K6 19 → 18-29; K1 34 and K5 44 → 30-59; K2 74 → 60+.
		if want := []string{"18-29", "30-59", "60+"}; !reflect.DeepEqual(keys, want) {
			t.Fatalf("age groups = %v, want %v", keys, want)
		}
		if got := *rows[1].AdultUses; got != 3 {
			t.Errorf("30-59 adult uses = %d, want 3 (K1u1, K1u2, K5u1)", got)
		}
	})

	t.Run("the 2022 rules do not count children's tickets taken with a 2021 course", func(t *testing.T) {
		diffs, err := stats.Compare(ctx, live, byRules2022, []int{2021, 2023, 2024})
		if err != nil {
			t.Fatal(err)
		}
		want := []stats.Diff{
			{Year: 2021, Measure: "childTickets", Live: 2, Restated: 0},
			{Year: 2021, Measure: "totalUses", Live: 3, Restated: 1},
			{Year: 2021, Dimension: "ageGroup", Group: "50-64", Measure: "childTickets", Live: 2, Restated: 0},
			{Year: 2021, Dimension: "ageGroup", Group: "50-64", Measure: "totalUses", Live: 3, Restated: 1},
			{Year: 2021, Dimension: "category", Group: "education", Measure: "childTickets", Live: 2, Restated: 0},
		}
		if !reflect.DeepEqual(diffs, want) {
			t.Fatalf("diffs =\n%+v\nwant\n%+v", diffs, want)
		}
	})

	t.Run("a restated build suppresses by its own rules' threshold", func(t *testing.T) {
		// The live 2024 threshold is 3; the 2022 rules say 5, so Espoo's
		// three registrations are hidden in the restated build.
		rows, err := byRules2022.Breakdown(ctx, stats.Filter{From: d("2024-01-01"), To: d("2024-12-31"), GroupBy: stats.ByLocality})
		if err != nil {
			t.Fatal(err)
		}
		threshold, err := byRules2022.Threshold(ctx, 2024)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := disclosure.For(domain.RoleCoordinator, threshold)
		stats.Suppress(rows, stats.ByLocality, p)
		if rows[0].Key != "espoo" || rows[0].CardsRegistered != nil || !rows[0].Suppressed {
			t.Fatalf("espoo row = %+v, want registrations suppressed", rows[0])
		}
	})
}

func TestAsOfRecordTime(t *testing.T) {
	t.Parallel()
	l := newLog(t)
	beforeCancel := scenario(l)
	ctx := context.Background()

	q, drop, err := stats.AsOf(ctx, l.pool, l.store, beforeCancel)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := drop(ctx); err != nil {
			t.Error(err)
		}
	}()
	got, err := q.National(ctx, 2024)
	if err != nil {
		t.Fatal(err)
	}
	want := national2024()
	// K1u3 (culture, one children's ticket) was cancelled after the record time.
	want.AdultUses, want.ChildTickets, want.TotalUses = 7, 7, 14
	want.AdultUsesByCategory["culture"], want.ChildTicketsByCategory["culture"] = 4, 6
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("as of %s: %+v\nwant %+v", beforeCancel, got, want)
	}

	live := build(t, l, "stats_live", 5000)
	now, err := live.National(ctx, 2024)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(now, national2024()) {
		t.Fatalf("live figures = %+v, want the cancellation counted: %+v", now, national2024())
	}
	if err := drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.National(ctx, 2024); err == nil {
		t.Fatal("the as-of schema still answers after drop")
	}
}
