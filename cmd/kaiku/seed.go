package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/dataset"
)

func runSeed(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "seed", "[flags]", `
Fills the database with a realistic demo network, generated
deterministically and sent through the same command handlers as the HTTP
API: the real localities of the network (Savonlinna a local-scope pilot) and
more, issuer offices and venues of every category, the 2015 and 2022
guidelines, agreements, contacts, coordinators, feedback meetings, cards
and their uses from 2015 to today. Scale 1 is Finland after ten years
(100,000 cards); the default is a small demo.`)
	cfg.bind(fs, e, "db", "store")
	scale := fs.Float64("scale", 0.01, "size of the network; 1 = Finland after ten years")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same network")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the log already holds events")
	until := fs.String("until", "", "last business date of the generated history (default today)")
	if err := parse(e, fs, args); err != nil {
		return err
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
	if *ifEmpty {
		// Asked of the configured store, which may not be PostgreSQL.
		recs, err := store.ReadAll(ctx, 0, 1)
		if err != nil {
			return fmt.Errorf("read the log: %w", err)
		}
		if len(recs) > 0 {
			fmt.Fprintln(e.stderr, "seed: the log already holds events; nothing to do")
			return nil
		}
	}
	dc := dataset.Config{Scale: *scale, Seed: *seed, Until: domain.DateOf(time.Now().UTC())}
	if *until != "" {
		if dc.Until, err = domain.ParseDate(*until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	tot, err := dataset.Generate(dc, func(dataset.Command) error { return nil })
	if err != nil {
		return err
	}
	h := command.New(store, command.WithCache(time.Second))
	var last domain.Position // the last position seeded
	p := newProgress(e.stderr, "seed", int64(tot.Commands))
	if _, err := dataset.Generate(dc, func(c dataset.Command) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := dataset.Apply(ctx, h, c)
		if err != nil {
			return fmt.Errorf("%T on %s: %w (the events before it are kept; run seed again on an empty database)", c.Cmd, c.On, err)
		}
		last = max(last, res.Position())
		p.Add(1)
		return nil
	}); err != nil {
		return err
	}
	p.Done()
	seal, err := cfg.sealThrough(ctx, pool, store, last)
	if err != nil {
		return fmt.Errorf("chain and seal what was seeded: %w", err)
	}
	if seal != nil {
		fmt.Fprintf(e.stderr, "seal #%d covers the seeded log up to position %d\n", seal.Seq, seal.To)
	}
	fmt.Fprintf(e.stdout, "seeded %d localities (%d municipalities), %d issuers, %d venues, %d cards, %d uses\n",
		tot.Localities, tot.Municipalities, tot.Issuers, tot.Venues, tot.Cards, tot.Uses)
	return nil
}
