package main

import (
	"context"
	"fmt"

	"github.com/kaiku/kaiku/adapters/postgres"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "migrate", "[flags]", `
Applies every database migration not yet applied, each in its own
transaction, and exits. Safe to run again and from several processes.`)
	cfg.bind(fs, e, "db")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := postgres.Migrate(ctx, pool, func(m postgres.Migration) {
		fmt.Fprintf(e.stderr, "applied %s\n", m.Name)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "migrations: %d applied, schema up to date\n", n)
	return nil
}
