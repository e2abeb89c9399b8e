package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
)

const tokensUsage = `Usage: kaiku tokens create|revoke|list [flags]

  create --role R [--locality L] [--partner P] [--label TEXT]
          prints the new API key alone on its last line; it is shown only once
  revoke <key id>
          the key stops working within seconds
  list    every key's id, principal, label and state (never the secret)`

func runTokens(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, tokensUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return runTokensCreate(ctx, e, args[1:])
	case "revoke":
		return runTokensRevoke(ctx, e, args[1:])
	case "list":
		return runTokensList(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, tokensUsage)
		return nil
	}
	fmt.Fprintln(e.stderr, tokensUsage)
	return errUsage
}

func runTokensCreate(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "tokens create", "--role R [--locality L] [--partner P] [--label TEXT]", `
Creates an API key for a principal and prints it alone on the last line.
Roles: national, auditor (no scope); coordinator (--locality); issuer and
venue (--partner), which must be in the log: a registered locality, a
partner that joined as an issuer office or a venue. Only the key's hash is
stored: keep the key safe.`)
	cfg.bind(fs, e, "db", "store")
	role := fs.String("role", "", "national, coordinator, issuer, venue or auditor")
	loc := fs.String("locality", "", "the coordinator's locality id")
	part := fs.String("partner", "", "the issuer office's or venue's partner id")
	label := fs.String("label", "", "a note on whom the key is for")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	r, err := domain.ParseRole(*role)
	if err != nil || r == domain.RoleSystem {
		return fmt.Errorf("--role must be one of national, coordinator, issuer, venue, auditor")
	}
	p := domain.Principal{Role: r, Locality: *loc, Partner: *part}
	if err := postgres.ValidateScope(p); err != nil {
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
	if err := command.New(store).CheckPrincipal(ctx, p); err != nil {
		return err
	}
	key, id, err := postgres.NewAPIKeys(pool).Create(ctx, p, *label)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "created key %s for %s\n", id, p)
	fmt.Fprintln(e.stdout, key)
	return nil
}

func runTokensRevoke(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "tokens revoke", "<key id> [flags]", "Revokes an API key by its id (the part after kaiku_ in the key, as `tokens list` shows).")
	cfg.bind(fs, e, "db")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.NewAPIKeys(pool).Revoke(ctx, fs.Arg(0)); err != nil {
		return fmt.Errorf("revoke %s: %w (list the ids with `kaiku tokens list`)", fs.Arg(0), err)
	}
	fmt.Fprintf(e.stdout, "revoked %s\n", fs.Arg(0))
	return nil
}

func runTokensList(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "tokens list", "[flags]", "Lists every API key: id, principal, label, created, revoked.")
	cfg.bind(fs, e, "db")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	keys, err := postgres.NewAPIKeys(pool).List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRINCIPAL\tLABEL\tCREATED\tREVOKED")
	for _, k := range keys {
		rev := ""
		if k.Revoked() {
			rev = k.RevokedAt.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Principal, k.Label, k.CreatedAt.UTC().Format("2006-01-02 15:04"), rev)
	}
	return tw.Flush()
}
