package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/cmd/kaiku/internal/bench"
	"github.com/kaiku/kaiku/domain"
)

func runBench(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "bench", "[flags]", `
Measures every path of Kaiku against its raw PostgreSQL baseline, in the
same run on the same server: batch import of the dataset (vs COPY),
single-event appends from 1 and 8 writers (vs INSERT), HTTP record-use
from 8 clients (vs INSERT), the rebuild of every read model (vs a raw
read of the log), query latencies, end-to-end lag at 1,000 events/s and
the peak memory of a "kaiku serve" it starts. It works in a database of
its own (kaiku_bench_<pid>), created on the server of --database-url and
dropped at the end (unless --keep), prints one markdown table on stdout
(and JSON with --json) and progress on stderr. The full run at --scale 10
takes a long while; --quick is the smoke test.`)
	cfg.bind(fs, e, "db")
	scale := fs.Float64("scale", 1, "dataset size; 1 = Finland after ten years (about 370,000 events)")
	quick := fs.Bool("quick", false, "a smoke run for CI: --scale 0.05 unless given, short phases (within a minute)")
	jsonFile := fs.String("json", "", "also write the report as JSON to this file")
	keep := fs.Bool("keep", false, "keep the benchmark's database at the end")
	seed := fs.Uint64("seed", 1, "dataset seed")
	self, _ := os.Executable()
	serveBinary := fs.String("serve-binary", self, "kaiku binary to start as \"kaiku serve\" to measure the server's peak memory; empty: measure the in-process server")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	scaleSet := false
	fs.Visit(func(f *flag.Flag) { scaleSet = scaleSet || f.Name == "scale" })
	if *quick && !scaleSet {
		*scale = 0.05
	}
	rep, err := bench.Run(ctx, bench.Config{
		DatabaseURL: cfg.DatabaseURL, Scale: *scale, Quick: *quick, Keep: *keep, Seed: *seed,
		ServeBinary: *serveBinary,
		Views: func(pool *pgxpool.Pool, store domain.EventStore) httpapi.Views {
			return views{pool: pool, store: store}
		},
		Log: e.stderr,
		Progress: func(what string, total int64) bench.Progress {
			return newProgress(e.stderr, what, total)
		},
	})
	if err != nil {
		return err
	}
	if err := rep.Markdown(e.stdout); err != nil {
		return err
	}
	if *jsonFile != "" {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonFile, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write --json %s: %w (choose a writable path)", *jsonFile, err)
		}
	}
	return nil
}
