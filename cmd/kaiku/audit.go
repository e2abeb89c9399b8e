package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain/audit"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	usage := func() error {
		fmt.Fprintln(e.stderr, "Usage: kaiku audit verify|seal [flags]\n\n  verify  check the hash chain and the seals; exit 0, or 1 naming the first bad position\n  seal    chain every committed event and seal it now")
		return errUsage
	}
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, e, args[1:])
	case "seal":
		return runAuditSeal(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, "Usage: kaiku audit verify|seal [flags]\n\n  verify  check the hash chain and the seals; exit 0, or 1 naming the first bad position\n  seal    chain every committed event and seal it now")
		return nil
	}
	return usage()
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "audit verify", "[flags]", `
Walks the whole log, recomputes every event's hash from its content, its
envelope and its predecessor's hash, and checks the stored chain and the
seals. Exits 0 with a summary when nothing sealed was changed, removed,
inserted or reordered; exits 1 naming the first bad position otherwise.
Events appended since the last seal are counted, not judged. With
KAIKU_SEAL_KEY set, keyed seals are checked against it.`)
	cfg.bind(fs, e, "db", "store")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	var rep audit.Report
	if cfg.Store != "" && cfg.Store != "postgres" {
		// The log is in KurrentDB; the chain and seals are in PostgreSQL.
		store, closeStore, serr := cfg.openStore(ctx)
		if serr != nil {
			return serr
		}
		defer closeStore()
		rep, err = postgres.VerifyPort(ctx, pool, store, []byte(cfg.SealKey))
	} else {
		rep, err = postgres.Verify(ctx, pool, []byte(cfg.SealKey))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "events: %d, chained: %d, sealed: %d in %d seals", rep.Events, rep.Chained, rep.Sealed, rep.Seals)
	if rep.UncheckedSeals > 0 {
		fmt.Fprintf(e.stdout, " (%d keyed seals not checked: set KAIKU_SEAL_KEY)", rep.UncheckedSeals)
	}
	fmt.Fprintln(e.stdout)
	if rep.LastSeal != nil {
		fmt.Fprintf(e.stdout, "last seal: #%d up to position %d, hash %s\n", rep.LastSeal.Seq, rep.LastSeal.To, hex.EncodeToString(rep.LastSeal.Hash))
	}
	if p := rep.FirstBad; p != nil {
		return fmt.Errorf("TAMPERED: first bad position %d: %s: %s\n(the log is not as it was sealed; compare with a backup from before the seal and investigate who wrote to the database directly)", p.Position, p.Kind, p.Detail)
	}
	if err := printErasures(ctx, e, pool); err != nil {
		return err
	}
	check, err := postgres.CheckRedactions(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "redactions: %d\n", len(check.Redactions))
	for _, x := range check.Redactions {
		fmt.Fprintf(e.stdout, "  position %d: field %s redacted %s by %s (reason %s; replaced value's digest %s)\n",
			x.Position, x.Field, x.RecordedAt.UTC().Format(time.RFC3339), x.By, x.Reason, x.Digest)
	}
	if len(check.Unexplained) > 0 {
		return fmt.Errorf("TAMPERED: %d redaction markers no recorded redaction explains:\n  %s", len(check.Unexplained), strings.Join(check.Unexplained, "\n  "))
	}
	fmt.Fprintln(e.stdout, "OK: the log verifies")
	return nil
}

// printErasures lists the recorded erasures: the chain verifies across
// them because it covers the digests of personal parts, not the parts.
func printErasures(ctx context.Context, e *env, pool *pgxpool.Pool) error {
	es, err := postgres.ListErasures(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "erasures: %d\n", len(es))
	for _, x := range es {
		fmt.Fprintf(e.stdout, "  position %d: subject %s erased %s by %s (reason %s)\n",
			x.Position, x.Subject, x.RecordedAt.UTC().Format(time.RFC3339), x.By, x.Reason)
	}
	return nil
}

func runAuditSeal(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "audit seal", "[flags]", `
Extends the hash chain over every committed event and writes a seal over
what was not sealed yet. kaiku serve does this continuously; this command is
for a log written by another process or before a backup.`)
	cfg.bind(fs, e, "db", "store")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	var c interface {
		Chain(context.Context) (int, error)
		Seal(context.Context) (*audit.Seal, error)
	}
	if cfg.Store != "" && cfg.Store != "postgres" {
		// The log is in KurrentDB; the chain and seals are in PostgreSQL.
		store, closeStore, err := cfg.openStore(ctx)
		if err != nil {
			return err
		}
		defer closeStore()
		c = postgres.NewPortChainer(pool, store, postgres.ChainerConfig{Key: []byte(cfg.SealKey)})
	} else {
		c = postgres.NewChainer(pool, postgres.ChainerConfig{Key: []byte(cfg.SealKey)})
	}
	n, err := c.Chain(ctx)
	if errors.Is(err, postgres.ErrChainerBusy) {
		return fmt.Errorf("another process (kaiku serve?) is chaining right now: try again in a moment")
	}
	if err != nil {
		return err
	}
	s, err := c.Seal(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		fmt.Fprintf(e.stdout, "chained %d events; nothing new to seal\n", n)
		return nil
	}
	fmt.Fprintf(e.stdout, "chained %d events; seal #%d covers positions %d..%d (%d events)\n", n, s.Seq, s.From, s.To, s.Count)
	return nil
}
