package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/stats"
)

// TxDB is a DB that can begin transactions; a *pgxpool.Pool fits.
type TxDB interface {
	DB
	Begin(ctx context.Context) (pgx.Tx, error)
}

// RebuildOptions tune Rebuild.
type RebuildOptions struct {
	// Rules, when not empty, restates statistics under the rules of this
	// guideline version (read from the guideline stream of the store): the
	// build ends in state restated, never live.
	Rules string
	// Progress, when not nil, is called after each committed page with the
	// number of events read, the number to read (the events up to the head
	// of the log when the rebuild started; 0 when the store cannot count
	// them) and the rate in events per second. Positions are not counts:
	// they have holes between transactions.
	Progress func(done, target int64, rate float64)
	// PageSize is how many records one transaction applies. Default 20000.
	PageSize int
}

// Rebuilt says what a Rebuild built.
type Rebuilt struct {
	Version  Version       // the new version, now live or restated
	Previous string        // the schema it replaced (now retired), or ""
	Events   int64         // log records read
	Elapsed  time.Duration // from Create to Switch
}

// Rebuild builds a new version of readModel beside the live one and
// switches to it: it creates the version's schema (state building), catches
// it up from position 0 with the runtime's fast path (page-sized
// transactions committed asynchronously, so the log's readers never wait
// on it) until it reaches the head of the log as of the start (statistics
// build in stats.WithBuildMode: without secondary indexes, which are
// created in one transaction with the deferred cancellations once the
// catch-up is done), then in one transaction makes it live (a restated build: restated) and the previous
// one retired. The live version keeps answering reads and being updated
// meanwhile. Events appended after the start are not lost: the new
// version's checkpoint is where the build stopped, and the serving runner
// tails it from there once it sees the switch. Rebuild returns the
// *domain.Invalid or guideline error of an unknown guideline version
// (listing the known ones), an error wrapping ErrUnknown, a poison event's
// error, or the store's or database's error; a failed build is dropped
// and the live version stays as it was.
func Rebuild(ctx context.Context, db TxDB, store domain.EventStore, readModel string, o RebuildOptions) (Rebuilt, error) {
	if _, ok := kinds[readModel]; !ok {
		return Rebuilt{}, fmt.Errorf("%w %q (known: %s)", ErrUnknown, readModel, strings.Join(Names(), ", "))
	}
	if o.PageSize <= 0 {
		o.PageSize = 20000
	}
	var rules *guideline.Rules
	if o.Rules != "" {
		r, err := RulesOf(ctx, store, o.Rules)
		if err != nil {
			return Rebuilt{}, err
		}
		rules = &r
	}
	head, err := headOf(ctx, db, store)
	if err != nil {
		return Rebuilt{}, err
	}
	start := time.Now()
	v, err := createIn(ctx, db, readModel, o.Rules)
	if err != nil {
		return Rebuilt{}, err
	}
	out, err := build(ctx, db, store, v, rules, head, o, start)
	if err != nil {
		if derr := Drop(context.WithoutCancel(ctx), db, v.Schema); derr != nil {
			err = errors.Join(err, derr)
		}
		return Rebuilt{}, fmt.Errorf("rebuild %s: %w", readModel, err)
	}
	return out, nil
}

func build(ctx context.Context, db TxDB, store domain.EventStore, v Version, rules *guideline.Rules, head domain.Position, o RebuildOptions, start time.Time) (Rebuilt, error) {
	p, err := buildProjection(v, rules)
	if err != nil {
		return Rebuilt{}, err
	}
	s, isStats := p.(*stats.Projection)
	if isStats {
		if err := s.Init(ctx, db); err != nil {
			return Rebuilt{}, err
		}
		if err := s.PrepareBuild(ctx, db); err != nil {
			return Rebuilt{}, err
		}
	}
	r, err := projections.NewRunner(projections.Config{DB: db, Store: store, PageSize: o.PageSize, Retry: noRetry()}, p)
	if err != nil {
		return Rebuilt{}, err
	}
	var read int64
	total := eventsUpTo(ctx, db, store, head)
	err = r.CatchUpUntil(projections.WithAsyncCommit(ctx), p.Name(), head, func(at domain.Position, n int64) {
		read = n
		if o.Progress != nil {
			el := time.Since(start).Seconds()
			o.Progress(n, total, float64(n)/max(el, 1e-9))
		}
	})
	if err != nil {
		return Rebuilt{}, err
	}
	if isStats {
		if err := finishIn(ctx, db, s); err != nil {
			return Rebuilt{}, err
		}
	}
	prev, err := switchIn(ctx, db, v)
	if err != nil {
		return Rebuilt{}, err
	}
	v.State = "live"
	if v.Rules != "" {
		v.State = "restated"
	}
	return Rebuilt{Version: v, Previous: prev, Events: read, Elapsed: time.Since(start)}, nil
}

// buildProjection is Projection for a build beside the live version: the
// statistics run in build mode (stats.WithBuildMode), which FinishBuild
// ends before the switch.
func buildProjection(v Version, rules *guideline.Rules) (projections.Projection, error) {
	if v.ReadModel != Stats {
		return Projection(v, rules)
	}
	if v.Rules != "" && rules == nil {
		return nil, fmt.Errorf("catalog: %s is restated under guideline %s but no rules were given", v.Schema, v.Rules)
	}
	opts := []stats.Option{stats.WithBuildMode()}
	if rules != nil {
		opts = append(opts, stats.WithRules(*rules))
	}
	return stats.New(v.Schema, opts...), nil
}

// finishIn ends the build of s (deferred cancellations, indexes) in one
// transaction.
func finishIn(ctx context.Context, db TxDB, s *stats.Projection) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := s.FinishBuild(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("catalog: finish the build of %s: %w", s.Schema(), err)
	}
	return nil
}

// noRetry makes a rebuild fail at once on an event its projection cannot
// apply, instead of retrying it for seconds and parking it.
func noRetry() (m middleware.Retry) {
	m.MaxRetries = 1
	m.InitialInterval = time.Millisecond
	m.MaxInterval = time.Millisecond
	return m
}

func headOf(ctx context.Context, db DB, store domain.EventStore) (domain.Position, error) {
	if h, ok := store.(interface {
		Head(ctx context.Context) (domain.Position, error)
	}); ok {
		return h.Head(ctx)
	}
	var p int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&p); err != nil {
		return 0, fmt.Errorf("catalog: head of the log: %w", err)
	}
	return domain.Position(p), nil
}

func createIn(ctx context.Context, db TxDB, readModel, rules string) (Version, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return Version{}, fmt.Errorf("catalog: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `LOCK TABLE read_model_versions IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return Version{}, fmt.Errorf("catalog: lock: %w", err)
	}
	v, err := Create(ctx, tx, readModel, rules)
	if err != nil {
		return Version{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Version{}, fmt.Errorf("catalog: create %s: %w", v.Schema, err)
	}
	return v, nil
}

// switchIn switches to v in one transaction and returns the schema it
// replaced.
func switchIn(ctx context.Context, db TxDB, v Version) (string, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("catalog: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `LOCK TABLE read_model_versions IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return "", fmt.Errorf("catalog: lock: %w", err)
	}
	var prev string
	var err2 error
	if v.Rules != "" {
		prev, err2 = Restated(ctx, tx, v.Rules)
	} else {
		prev, err2 = Live(ctx, tx, v.ReadModel)
	}
	if err2 != nil && !errors.Is(err2, domain.ErrNotFound) {
		return "", err2
	}
	if err := Switch(ctx, tx, v); err != nil {
		return "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("catalog: switch to %s: %w", v.Schema, err)
	}
	return prev, nil
}

// RulesOf returns the rules of guideline version v as the guideline stream
// of store records them. It returns an error naming the known versions
// when v was never adopted, or the store's error.
func RulesOf(ctx context.Context, store domain.EventStore, v string) (guideline.Rules, error) {
	g, err := command.New(store).Guideline(ctx)
	if err != nil {
		return guideline.Rules{}, fmt.Errorf("read the guideline: %w", err)
	}
	rv, err := g.Version(guideline.Version(v))
	if err != nil {
		known := make([]string, 0)
		for _, r := range g.Versions() {
			known = append(known, string(r.Version))
		}
		return guideline.Rules{}, fmt.Errorf("%w (known guideline versions: %s)", err, strings.Join(known, ", "))
	}
	return rv.Rules, nil
}

// ErrNotDroppable is returned (wrapped) by Drop for a live or restated
// version.
var ErrNotDroppable = errors.New("only retired or abandoned versions can be dropped")

// Drop deletes a retired (or abandoned building) version: its schema with
// every table, its checkpoint, its parked events and its catalog row, in
// one transaction. It returns an error wrapping ErrNotDroppable for a live
// or restated version, domain.ErrNotFound for an unknown schema, or the
// database's error. A serving runner still building the version must be
// stopped first (the supervisor drops it from its set when the row goes).
func Drop(ctx context.Context, db TxDB, schema string) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var state string
	err = tx.QueryRow(ctx, `SELECT state FROM read_model_versions WHERE schema_name = $1 FOR UPDATE`, schema).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("catalog: drop %s: no such version: %w", schema, domain.ErrNotFound)
	case err != nil:
		return wrap("drop", schema, err)
	case state != "retired" && state != "building":
		return fmt.Errorf("catalog: drop %s: it is %s: %w", schema, state, ErrNotDroppable)
	}
	for _, q := range []string{
		`DELETE FROM read_model_versions WHERE schema_name = $1`,
		`DELETE FROM projection_checkpoints WHERE name = $1`,
		`DELETE FROM projection_parked WHERE projection = $1`,
	} {
		if _, err := tx.Exec(ctx, q, schema); err != nil {
			return wrap("drop", schema, err)
		}
	}
	if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
		return wrap("drop", schema, err)
	}
	return wrap("drop", schema, tx.Commit(ctx))
}

// Retired lists the retired versions, oldest first.
func Retired(ctx context.Context, db DB) ([]Version, error) {
	rows, err := db.Query(ctx, `SELECT schema_name, read_model, version, coalesce(rules, ''), state
		FROM read_model_versions WHERE state = 'retired' ORDER BY read_model, version`)
	if err != nil {
		return nil, fmt.Errorf("catalog: list retired versions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		err := r.Scan(&v.Schema, &v.ReadModel, &v.Number, &v.Rules, &v.State)
		return v, err
	})
}

// Serving lists the versions a serving runner should tail: live and
// restated ones. Building versions are left to the process that builds
// them (Rebuild); after their switch they are live or restated and the
// serving runner resumes them from the checkpoint the build left.
func Serving(ctx context.Context, db DB) ([]Version, error) {
	vs, err := Versions(ctx, db)
	if err != nil {
		return nil, err
	}
	out := vs[:0]
	for _, v := range vs {
		if v.State != "building" {
			out = append(out, v)
		}
	}
	return out, nil
}

// eventsUpTo counts the events at or below head, for progress: through the
// store when it keeps count (projections.LogStats), else in the PostgreSQL
// events table; 0 when neither can say.
func eventsUpTo(ctx context.Context, db DB, store domain.EventStore, head domain.Position) int64 {
	if ls, ok := store.(projections.LogStats); ok {
		after, err1 := ls.CountAfter(ctx, head)
		all, err2 := ls.CountAfter(ctx, 0)
		if err1 == nil && err2 == nil {
			return all - after
		}
		return 0
	}
	var n int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM events WHERE position <= $1`, int64(head)).Scan(&n); err != nil {
		return 0
	}
	return n
}
