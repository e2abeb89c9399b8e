package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	usage := func() error {
		fmt.Fprintln(e.stderr, "Usage: kaiku audit verify|seal [flags]\n\n  verify  check the hash chain and the seals; exit 0, 1 naming the first bad position, or 3 when events are not chained yet\n  seal    chain every committed event and seal it now")
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
		fmt.Fprintln(e.stdout, "Usage: kaiku audit verify|seal [flags]\n\n  verify  check the hash chain and the seals; exit 0, 1 naming the first bad position, or 3 when events are not chained yet\n  seal    chain every committed event and seal it now")
		return nil
	}
	return usage()
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "audit verify", "[flags]", `
Walks the whole log, recomputes every event's hash from its content, its
envelope and its predecessor's hash, and checks the stored chain and the
seals. Exits 0 when every event is chained and nothing was changed,
removed, inserted or reordered; 1 naming the first bad position when
something was; 3 when what is chained verifies but some events are not
chained yet and so were not judged (run kaiku audit seal, or let kaiku
serve's chainer catch up, and verify again). It never writes: a verifier
that chained first would bless whatever was changed before it ran. With
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
	switch rep.Verdict() {
	case audit.Tampered:
		p := rep.FirstBad
		return fmt.Errorf("TAMPERED: first bad position %d: %s: %s\n(the log is not as it was sealed; compare with a backup from before the seal and investigate who wrote to the database directly)", p.Position, p.Kind, p.Detail)
	case audit.Incomplete:
		fmt.Fprintf(e.stdout, "NOT VERIFIED: %d events after position %d are not chained yet and were not checked; run `kaiku audit seal` (or let kaiku serve chain them) and verify again\n",
			rep.Unchained(), rep.Head.Position)
		return exitStatus{code: exitIncomplete}
	}
	fmt.Fprintf(e.stdout, "OK: all %d events verify", rep.Events)
	if n := rep.Unsealed(); n > 0 {
		fmt.Fprintf(e.stdout, " (the last %d against the chain only: no seal covers them yet)", n)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// exitIncomplete is audit verify's status when it found nothing wrong but
// could not judge every event.
const exitIncomplete = 3

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
	var store domain.EventStore
	if cfg.Store != "" && cfg.Store != "postgres" {
		st, closeStore, err := cfg.openStore(ctx)
		if err != nil {
			return err
		}
		defer closeStore()
		store = st
	}
	n, s, err := cfg.chainAndSeal(ctx, pool, store)
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

// chainAndSeal extends the hash chain over every committed event and seals
// what no seal covers yet (audit seal, seed). store is the configured
// event store when it is not PostgreSQL (the chain and seals stay in
// PostgreSQL), else nil.
func (cfg *config) chainAndSeal(ctx context.Context, pool *pgxpool.Pool, store domain.EventStore) (int, *audit.Seal, error) {
	var c interface {
		Chain(context.Context) (int, error)
		Seal(context.Context) (*audit.Seal, error)
	}
	if store != nil && cfg.Store != "" && cfg.Store != "postgres" {
		c = postgres.NewPortChainer(pool, store, postgres.ChainerConfig{Key: []byte(cfg.SealKey)})
	} else {
		c = postgres.NewChainer(pool, postgres.ChainerConfig{Key: []byte(cfg.SealKey)})
	}
	n, err := c.Chain(ctx)
	if errors.Is(err, postgres.ErrChainerBusy) {
		return 0, nil, fmt.Errorf("another process (kaiku serve?) is chaining right now: it seals too, or run kaiku audit seal in a moment")
	}
	if err != nil {
		return 0, nil, err
	}
	s, err := c.Seal(ctx)
	return n, s, err
}

// sealThrough calls chainAndSeal until a seal covers position last (the
// chainer stops at the log's fence while older transactions are open, so
// one pass may fall short) or a minute has passed, and returns the last
// seal it wrote (nil for an empty log).
func (cfg *config) sealThrough(ctx context.Context, pool *pgxpool.Pool, store domain.EventStore, last domain.Position) (*audit.Seal, error) {
	deadline := time.Now().Add(time.Minute)
	var seal *audit.Seal
	for {
		_, s, err := cfg.chainAndSeal(ctx, pool, store)
		if err != nil {
			return seal, err
		}
		if s != nil {
			seal = s
		}
		if last == 0 || seal != nil && seal.To >= last {
			return seal, nil
		}
		if time.Now().After(deadline) {
			return seal, fmt.Errorf("the chain did not reach position %d within a minute: an open transaction holds the log's fence; run kaiku audit seal later", last)
		}
		select {
		case <-ctx.Done():
			return seal, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
