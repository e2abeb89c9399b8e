package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/projections/catalog"
	"github.com/kaiku/kaiku/projections/stats"
)

func runRebuild(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "rebuild", "<read model>|all [flags]", `
Builds a new version of a read model beside the live one, from the start of
the log, while the live version keeps answering and being updated; then
switches readers to it in one transaction. The old version is kept
(retired) until --drop-retired. A running kaiku serve notices the switch
within seconds and goes on from the new version's checkpoint.

With --rules, builds the statistics restated under the rules of a guideline
version instead (never live; /v1/statistics?rules=<version> reads it), and
with --compare prints how its figures differ from the live ones.

Read models: `+strings.Join(catalog.Names(), ", ")+` ("statistics" is an alias of "stats").`)
	cfg.bind(fs, e, "db", "store")
	rules := fs.String("rules", "", "restate statistics under this guideline version's rules (e.g. 2015)")
	compare := fs.Bool("compare", false, "with --rules: print the differences from the live statistics per year and category or age group")
	dropRetired := fs.Bool("drop-retired", false, "drop every retired version (after the rebuild, if one is named)")
	pageSize := fs.Int("page-size", 20000, "log records per transaction")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	var model string
	if fs.NArg() > 0 { // flags may also follow the read model
		model = fs.Arg(0)
		if err := parse(e, fs, fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(e.stderr, "kaiku rebuild: unexpected arguments %v\n", fs.Args())
			return errUsage
		}
	}
	if model == "statistics" {
		model = catalog.Stats
	}
	models := []string{model}
	switch {
	case model == "" && !*dropRetired:
		fmt.Fprintf(e.stderr, "kaiku rebuild: name a read model (%s) or all\n", strings.Join(catalog.Names(), ", "))
		return errUsage
	case model == "":
		models = nil
	case model == "all":
		models = catalog.Names()
	}
	if *rules != "" && model != catalog.Stats {
		return fmt.Errorf("--rules restates statistics only: run kaiku rebuild statistics --rules %s", *rules)
	}
	if *compare && *rules == "" {
		return errors.New("--compare compares a restatement with the live statistics: add --rules <guideline version>")
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		return err
	}
	store, closeStore, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	if len(models) > 0 {
		if err := catalog.EnsureLive(ctx, pool); err != nil {
			return err
		}
	}
	for _, m := range models {
		bar := &rebuildBar{w: e, what: "rebuild " + m}
		res, err := catalog.Rebuild(ctx, pool, store, m, catalog.RebuildOptions{Rules: *rules, PageSize: *pageSize, Progress: bar.update})
		if err != nil {
			return err
		}
		bar.done(res.Events, res.Elapsed)
		if res.Version.Rules != "" {
			fmt.Fprintf(e.stdout, "%s: built %s, restated under guideline %s", m, res.Version.Schema, res.Version.Rules)
		} else {
			fmt.Fprintf(e.stdout, "%s: %s is live", m, res.Version.Schema)
		}
		if res.Previous != "" {
			fmt.Fprintf(e.stdout, "; %s retired (kaiku rebuild --drop-retired drops it)", res.Previous)
		}
		fmt.Fprintf(e.stdout, " (%d events in %s)\n", res.Events, res.Elapsed.Round(time.Millisecond))
		if *compare {
			if err := printComparison(ctx, e, pool, res.Version.Schema, *rules); err != nil {
				return err
			}
		}
	}
	if *dropRetired {
		vs, err := catalog.Retired(ctx, pool)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if err := catalog.Drop(ctx, pool, v.Schema); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "dropped %s\n", v.Schema)
		}
		if len(vs) == 0 {
			fmt.Fprintln(e.stdout, "no retired versions to drop")
		}
	}
	return nil
}

// rebuildBar prints a rebuild's progress to stderr at most once a second.
type rebuildBar struct {
	w    *env
	what string
	last time.Time
}

func (b *rebuildBar) update(done, target int64, rate float64) {
	if now := time.Now(); now.Sub(b.last) >= time.Second {
		b.last = now
		left := time.Duration(float64(max(target-done, 0)) / max(rate, 1e-9) * float64(time.Second))
		pct := 100.0
		if target > 0 {
			pct = 100 * float64(done) / float64(target)
		}
		fmt.Fprintf(b.w.stderr, "%s: %d/%d (%.0f%%, %.0f events/s, %s left)\n", b.what, done, target, pct, rate, left.Round(time.Second))
	}
}

func (b *rebuildBar) done(events int64, el time.Duration) {
	fmt.Fprintf(b.w.stderr, "%s: %d events in %.1fs (%.0f events/s)\n", b.what, events, el.Seconds(), float64(events)/max(el.Seconds(), 1e-9))
}

func printComparison(ctx context.Context, e *env, db stats.DB, restated, rules string) error {
	live, err := catalog.Live(ctx, db, catalog.Stats)
	if err != nil {
		return err
	}
	var from, to int
	if err := db.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(min(y), 0)::int, coalesce(max(y), -1)::int FROM (
		SELECT extract(year FROM used_on) AS y FROM %s UNION ALL SELECT extract(year FROM issued_on) FROM %s) t`,
		pgx.Identifier{live, "uses"}.Sanitize(), pgx.Identifier{live, "cards"}.Sanitize())).Scan(&from, &to); err != nil {
		return fmt.Errorf("years of the live statistics: %w", err)
	}
	var years []int
	for y := from; y <= to; y++ {
		years = append(years, y)
	}
	diffs, err := stats.Compare(ctx, stats.NewQueries(db, live), stats.NewQueries(db, restated), years)
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintf(e.stdout, "no differences: under the rules of guideline %s every figure of %d–%d equals the live statistics (%s)\n", rules, from, to, live)
		return nil
	}
	fmt.Fprintf(e.stdout, "differences under the rules of guideline %s (restated %s) from the live statistics (%s):\n", rules, restated, live)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "year\tby\tgroup\tfigure\tlive\trestated\tchange\t")
	for _, d := range diffs {
		by, group := d.Dimension, d.Group
		if by == "" {
			by, group = "national", "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%+d\t\n", d.Year, by, group, d.Measure, d.Live, d.Restated, d.Change())
	}
	return tw.Flush()
}
