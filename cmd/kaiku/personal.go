package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/personal"
)

// masterKey returns the configured master key (or serve --demo's), or an
// error wrapping personal.ErrNoMasterKey.
func (c *config) masterKey() (personal.MasterKey, error) {
	if c.demoKey != nil {
		return *c.demoKey, nil
	}
	return personal.LoadMasterKey(c.MasterKey, c.MasterKeyFile)
}

// sealPersonal gives the PostgreSQL store a keyring under the configured
// master key. Without a master key the store stays plain: it appends
// personal parts unsealed and refuses to read sealed ones
// (postgres.ErrSealed), which names the missing key.
func (c *config) sealPersonal(ctx context.Context, st *postgres.Store, pool *pgxpool.Pool) error {
	m, err := c.masterKey()
	if errors.Is(err, personal.ErrNoMasterKey) {
		return nil
	}
	if err != nil {
		return err
	}
	k, err := postgres.NewKeyring(ctx, pool, m)
	if err != nil {
		return fmt.Errorf("%w (run `kaiku migrate` first if the database is new)", err)
	}
	st.SealPersonal(k)
	return nil
}

// requireMasterKey is serve's rule: a master key, or --demo, which seals
// under a throwaway key and says so.
func (c *config) requireMasterKey(demo bool, warn func(msg string, args ...any)) error {
	_, err := c.masterKey()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, personal.ErrNoMasterKey) && demo:
		m, _ := personal.NewMasterKey()
		c.demoKey = &m
		warn("demo: personal data is sealed under a throwaway master key that is lost when this process stops; set KAIKU_MASTER_KEY or KAIKU_MASTER_KEY_FILE to keep it")
		return nil
	case errors.Is(err, personal.ErrNoMasterKey):
		return fmt.Errorf("%w; or run `kaiku serve --demo` to seal under a throwaway key", err)
	}
	return err
}

// personalData opens the store with its keyring and returns the personal
// data service on it.
func (c *config) personalData(ctx context.Context) (*postgres.PersonalData, func(), error) {
	if c.Store != "" && c.Store != "postgres" {
		return nil, nil, errors.New("personal data erasure and access work on the PostgreSQL log (--store postgres); on KurrentDB, sealed parts become unreadable once their key is destroyed")
	}
	if _, err := c.masterKey(); err != nil {
		return nil, nil, err
	}
	pool, err := c.openPool(ctx)
	if err != nil {
		return nil, nil, err
	}
	store, closeStore, err := c.openStore(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return postgres.NewPersonalData(pool, store.(*postgres.Store)), func() { closeStore(); pool.Close() }, nil
}

const personalUsage = `Usage: kaiku personal erase|show|seal|rotate|new-key [flags]

  erase    erase a subject's personal data: --subject S --reason R
  show     print everything held about a subject (subject access): --subject S
  seal     seal personal parts still in plain text, and apply recorded erasures again
  rotate   re-wrap every data key under a new master key: --new-key-file F
  new-key  print a new random master key (64 hex characters)`

func runPersonal(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, personalUsage)
		return errUsage
	}
	switch args[0] {
	case "erase":
		return runPersonalErase(ctx, e, args[1:])
	case "show":
		return runPersonalShow(ctx, e, args[1:])
	case "seal":
		return runPersonalSeal(ctx, e, args[1:])
	case "rotate":
		return runPersonalRotate(ctx, e, args[1:])
	case "new-key":
		_, k := personal.NewMasterKey()
		fmt.Fprintln(e.stdout, k)
		return nil
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, personalUsage)
		return nil
	}
	fmt.Fprintln(e.stderr, personalUsage)
	return errUsage
}

func runPersonalErase(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "personal erase", "--subject S --reason R [flags]", `
Erases a data subject's personal data (GDPR art. 17): destroys its data
key, removes its personal parts from the log (keeping the digests the hash
chain covers), nulls it in every read model, stored idempotent answer and
parked event, and appends personal.erased naming the subject and reason,
never the data. Reasons: subject_request, no_longer_needed, unlawful,
mistake, authority_order.`)
	cfg.bind(fs, e, "db", "store")
	subject := fs.String("subject", "", "the subject id, e.g. contact:espoo-museum:2 (API answers and contact lists show it)")
	reason := fs.String("reason", "", "reason code")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	s, err := personal.ParseSubject(*subject)
	if err != nil {
		return fmt.Errorf("--subject: %w", err)
	}
	r, err := personal.ParseReason(*reason)
	if err != nil {
		return fmt.Errorf("--reason: %w", err)
	}
	pd, done, err := cfg.personalData(ctx)
	if err != nil {
		return err
	}
	defer done()
	// The CLI acts with national authority; it has no API key.
	res, err := pd.Erase(ctx, s, r, domain.Metadata{Principal: domain.Principal{Role: domain.RoleNational}})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "erased %s (%s): %d personal parts removed, %d read-model rows, %d idempotent answers, %d parked events scrubbed; personal.erased at position %d\n",
		s, r, res.Parts, res.ReadModelRows, res.IdempotencyRows, res.ParkedRows, res.Event.Position)
	return nil
}

func runPersonalShow(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "personal show", "--subject S [flags]", `
Prints, as JSON, everything the database holds about a data subject
(GDPR art. 15): each personal part with the event, stream and dates it comes
from, and the subject's erasure if any.`)
	cfg.bind(fs, e, "db", "store")
	subject := fs.String("subject", "", "the subject id")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	s, err := personal.ParseSubject(*subject)
	if err != nil {
		return fmt.Errorf("--subject: %w", err)
	}
	pd, done, err := cfg.personalData(ctx)
	if err != nil {
		return err
	}
	defer done()
	a, err := pd.Access(ctx, s)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

func runPersonalSeal(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "personal seal", "[flags]", `
Seals every personal part the log still holds in plain text (written before
sealing, or by a process without a master key) with its subject's data key,
keeping the digests the hash chain covers, then applies every recorded
erasure again (after a restore from backup). kaiku serve does both at start.`)
	cfg.bind(fs, e, "db", "store")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	pd, done, err := cfg.personalData(ctx)
	if err != nil {
		return err
	}
	defer done()
	return prepareServe(ctx, pd, func(msg string, args ...any) { fmt.Fprintln(e.stdout, append([]any{msg}, args...)...) })
}

// prepareServe seals plain personal parts and applies recorded erasures
// again: what must hold before the service serves.
func prepareServe(ctx context.Context, pd *postgres.PersonalData, info func(msg string, args ...any)) error {
	n, err := pd.Reapply(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		info("recorded erasures applied again (restored from a backup?)", "subjects", n)
	}
	sealed, skipped, err := pd.SealPlain(ctx, 500)
	if err != nil {
		return err
	}
	if sealed > 0 || skipped > 0 {
		info("personal parts sealed", "sealed", sealed, "without subject, left plain", skipped)
	}
	return nil
}

func runPersonalRotate(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "personal rotate", "--new-key-file F [flags]", `
Re-wraps every data key under the master key in the file F, in one
transaction; the sealed data is not touched. The current key comes from
KAIKU_MASTER_KEY or KAIKU_MASTER_KEY_FILE as usual. Stop the service first
and start it with the new key afterwards: the old key opens nothing more.`)
	cfg.bind(fs, e, "db", "store")
	file := fs.String("new-key-file", "", "file holding the new master key (64 hex characters)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	next, err := personal.LoadMasterKey("", *file)
	if errors.Is(err, personal.ErrNoMasterKey) {
		return errors.New("--new-key-file: give the file holding the new master key (kaiku personal new-key > F)")
	}
	if err != nil {
		return err
	}
	pd, done, err := cfg.personalData(ctx)
	if err != nil {
		return err
	}
	defer done()
	n, err := pd.Keyring().Rotate(ctx, next)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "re-wrapped %d data keys under the master key with fingerprint %x; start the service with it\n", n, next.Fingerprint())
	return nil
}

func runRedact(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "redact", "--position P --field F --reason R [flags]", `
Replaces one field of a logged event (personal data that ended up outside a
personal part) by a redaction marker naming the digest of what it replaced,
and appends redaction.made (position, field, digest, reason). The hash chain
still verifies; kaiku audit verify lists the redaction, and reports a marker
no recorded redaction explains as tamper. The value is also removed from the
read models and every other copy in the database. PostgreSQL log only.`)
	cfg.bind(fs, e, "db", "store")
	pos := fs.Int64("position", 0, "the event's position in the log")
	field := fs.String("field", "", "a JSON pointer into the event's data, e.g. /reason")
	reason := fs.String("reason", "", "reason code (mistake, unlawful, subject_request, …)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if *pos <= 0 {
		return errors.New("--position: give the event's position (kaiku personal show or GET /v1/history list positions)")
	}
	f, err := personal.ParsePointer(*field)
	if err != nil {
		return fmt.Errorf("--field: %w", err)
	}
	r, err := personal.ParseReason(*reason)
	if err != nil {
		return fmt.Errorf("--reason: %w", err)
	}
	pd, done, err := cfg.personalData(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := pd.Redact(ctx, domain.Position(*pos), f, r, domain.Metadata{Principal: domain.Principal{Role: domain.RoleNational}})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "redacted %s of the event at %d (replaced value's digest %s); redaction.made at position %d\n", res.Field, res.Position, res.Digest, res.At)
	return nil
}
