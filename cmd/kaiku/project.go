package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/natsbus"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/catalog"
)

func runProject(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "project", "--bus nats://host:4222 [flags]", `
Runs projectors only: reads the log from NATS JetStream (filled by
'kaiku serve --bus') and builds the read models in PostgreSQL. Start as many
as you like: they share the read-model versions between them by PostgreSQL
advisory locks, each version run by one process at a time, and take over a
dead process's versions from their checkpoints. Never touches the event
store. On SIGTERM or Ctrl-C it stops at a checkpoint.

The bus URL may name the stream and subject prefix:
nats://host:4222?stream=KAIKU_LOG&subject=kaiku.log (the defaults).`)
	cfg.bind(fs, e, "db", "bus")
	every := fs.Duration("rebalance", 2*time.Second, "how often to look for versions to take or hand over")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if cfg.Bus == "" {
		fmt.Fprintln(e.stderr, "kaiku project: --bus (or KAIKU_BUS) is required: nats://host:4222")
		return errUsage
	}
	server, bus, err := natsbus.ParseURL(cfg.Bus)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		return err
	}
	if err := catalog.EnsureLive(ctx, pool); err != nil {
		return err
	}
	nc, err := natsbus.Connect(server, "kaiku project")
	if err != nil {
		return err
	}
	defer nc.Close()
	l, err := natsbus.NewLog(ctx, nc, bus)
	if err != nil {
		return err
	}
	defer l.Close()
	p := &projector{pool: pool, log: l, commands: command.New(l), every: *every, slog: log,
		member: rand.Int32(), running: map[string]*held{}}
	log.Info("kaiku project started", "bus", server, "stream", bus.Stream)
	p.Run(ctx)
	log.Info("kaiku project stopped at checkpoints")
	return nil
}

// Advisory lock classes (two-key locks, see natsbus.LockClass).
const (
	memberLockClass  = natsbus.LockClass + 1 // (class, random member id): one per live process
	versionLockClass = natsbus.LockClass + 2 // (class, hashtext(schema)): who runs a version
)

// projector shares the read-model versions with the other `kaiku project`
// processes. Each process holds a member lock; alive = members holding it.
// A process takes at most ceil(versions/alive) versions, each behind a
// version lock, and hands extras back, so versions spread evenly and a dead
// process's versions (its session locks gone) are taken over. The locks
// only split work: that no event is applied twice comes from the runner's
// checkpoint row lock, which holds even while two processes briefly
// disagree about who runs a version.
type projector struct {
	pool     *pgxpool.Pool
	log      *natsbus.Log
	commands *command.Handler
	every    time.Duration
	slog     *slog.Logger
	member   int32

	session *pgx.Conn
	running map[string]*held
}

// held is a version this process runs.
type held struct {
	v      catalog.Version
	runner *projections.Runner
	cancel context.CancelFunc
	done   chan struct{}
}

// Run shares work until ctx ends, then stops its runners at checkpoints.
func (p *projector) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := p.serve(ctx)
		p.releaseAll(context.WithoutCancel(ctx))
		if p.session != nil {
			p.session.Close(context.WithoutCancel(ctx)) //nolint:errcheck
			p.session = nil
		}
		if ctx.Err() != nil {
			return
		}
		p.slog.Error("projector lost its lock session, starting over", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (p *projector) serve(ctx context.Context) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	p.session = conn.Hijack() // session locks die with it, never pooled
	if _, err := p.session.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, memberLockClass, p.member); err != nil {
		return fmt.Errorf("member lock: %w", err)
	}
	t := time.NewTicker(p.every)
	defer t.Stop()
	report := time.Now()
	for {
		if err := p.rebalance(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if _, perr := p.session.Exec(ctx, `SELECT 1`); perr != nil {
				return perr
			}
			p.slog.Error("rebalance", "err", err)
		}
		if time.Since(report) >= 10*time.Second {
			report = time.Now()
			p.progress(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *projector) rebalance(ctx context.Context) error {
	vs, err := catalog.Versions(ctx, p.pool)
	if err != nil {
		return err
	}
	var alive int
	if err := p.session.QueryRow(ctx, `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1::int::oid AND objsubid = 2 AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, memberLockClass).Scan(&alive); err != nil {
		return fmt.Errorf("count projectors: %w", err)
	}
	alive = max(alive, 1)
	target := (len(vs) + alive - 1) / alive
	listed := map[string]catalog.Version{}
	for _, v := range vs {
		listed[v.Schema] = v
	}
	// Stop versions that were retired, or changed shape, then extras.
	mine := make([]string, 0, len(p.running))
	for s, h := range p.running {
		if v, ok := listed[s]; !ok || v.Rules != h.v.Rules {
			if err := p.release(ctx, s); err != nil {
				return err
			}
			continue
		}
		mine = append(mine, s)
	}
	slices.Sort(mine)
	for len(mine) > target {
		if err := p.release(ctx, mine[len(mine)-1]); err != nil {
			return err
		}
		mine = mine[:len(mine)-1]
	}
	// Take free versions, starting at an offset of our own so that
	// processes starting together do not all reach for the same ones.
	start := int(uint32(p.member)) % max(len(vs), 1)
	for i := range vs {
		if len(p.running) >= target {
			break
		}
		v := vs[(start+i)%len(vs)]
		if p.running[v.Schema] != nil {
			continue
		}
		var got bool
		if err := p.session.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, versionLockClass, v.Schema).Scan(&got); err != nil {
			return fmt.Errorf("lock %s: %w", v.Schema, err)
		}
		if !got {
			continue
		}
		if err := p.start(ctx, v); err != nil {
			p.unlock(ctx, v.Schema)
			return err
		}
	}
	return nil
}

func (p *projector) start(ctx context.Context, v catalog.Version) error {
	var rules *guideline.Rules
	if v.Rules != "" {
		g, err := p.commands.Guideline(ctx)
		if err != nil {
			return fmt.Errorf("rules of restated %s: %w", v.Schema, err)
		}
		rv, err := g.Version(guideline.Version(v.Rules))
		if err != nil {
			return fmt.Errorf("rules of restated %s: %w", v.Schema, err)
		}
		rules = &rv.Rules
	}
	proj, err := catalog.Projection(v, rules)
	if err != nil {
		return err
	}
	r, err := projections.NewRunner(projections.Config{DB: p.pool, Store: p.log,
		Logger: watermill.NewSlogLogger(p.slog.With("version", v.Schema))}, proj)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	h := &held{v: v, runner: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		if err := r.Run(rctx); err != nil {
			p.slog.Error("runner", "version", v.Schema, "err", err)
		}
	}()
	p.running[v.Schema] = h
	p.slog.Info("took version", "version", v.Schema)
	return nil
}

// release stops a version's runner (at a checkpoint), then frees its lock.
func (p *projector) release(ctx context.Context, schema string) error {
	h := p.running[schema]
	h.cancel()
	<-h.done
	delete(p.running, schema)
	p.unlock(ctx, schema)
	p.slog.Info("handed over version", "version", schema)
	return nil
}

func (p *projector) unlock(ctx context.Context, schema string) {
	if _, err := p.session.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, versionLockClass, schema); err != nil {
		p.slog.Error("unlock", "version", schema, "err", errors.Unwrap(err))
	}
}

func (p *projector) releaseAll(ctx context.Context) {
	for s := range p.running {
		if p.session != nil && !p.session.IsClosed() {
			_ = p.release(ctx, s)
			continue
		}
		h := p.running[s]
		h.cancel()
		<-h.done
		delete(p.running, s)
	}
}

func (p *projector) progress(ctx context.Context) {
	for _, s := range slices.Sorted(maps.Keys(p.running)) {
		st, err := p.running[s].runner.Status(ctx)
		if err != nil || len(st) == 0 {
			continue
		}
		p.slog.Info("progress", "version", s, "state", st[0].State, "position", st[0].Position, "lag_events", st[0].LagEvents)
	}
}
