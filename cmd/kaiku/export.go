package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain/command"
)

func runExport(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "export", "<table> [--format csv|xlsx] [--year Y] [--locality L] > file", `
Writes a table as CSV (UTF-8 with a BOM, ';'-separated, a header row) or
XLSX to standard output, exactly as the API's ?format= export answers
national: the same rows, every row of a list. It reads the live read
models, which a running `+"`kaiku serve`"+` keeps current.
Tables: `+strings.Join(httpapi.ExportTableNames(), ", ")+`.`)
	cfg.bind(fs, e, "db", "store")
	format := fs.String("format", httpapi.FormatCSV, "csv or xlsx")
	year := fs.Int("year", 0, "only this year (business dates; the national table of that year)")
	loc := fs.String("locality", "", "only this locality")
	var table string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		table, args = args[0], args[1:]
	}
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if table == "" && fs.NArg() > 0 {
		table = fs.Arg(0)
	}
	if table == "" {
		fmt.Fprintf(e.stderr, "kaiku export: name a table (%s)\n", strings.Join(httpapi.ExportTableNames(), ", "))
		return errUsage
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, closeStore, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	d := httpapi.Deps{Commands: command.New(store), Views: views{pool: pool, store: store}, Now: time.Now}
	out := bufio.NewWriterSize(e.stdout, 1<<16)
	if err := httpapi.ExportTable(ctx, d, httpapi.ExportRequest{Table: table, Format: *format, Year: *year, Locality: *loc}, out); err != nil {
		return err
	}
	return out.Flush()
}
