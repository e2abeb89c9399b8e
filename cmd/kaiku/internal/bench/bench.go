package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// Progress counts work done in a phase; cmd/kaiku's progress printer fits.
type Progress interface {
	Add(n int64)
	Done()
}

// Config says what to measure and where.
type Config struct {
	// DatabaseURL is any database on the server; the benchmark connects to
	// it only to create (and drop) a database of its own.
	DatabaseURL string
	// Scale is the dataset's size (1 = Finland after ten years).
	Scale float64
	// Quick shortens every phase (for CI); it does not change Scale.
	Quick bool
	// Keep leaves the benchmark's database in place at the end.
	Keep bool
	// Seed is the dataset's seed.
	Seed uint64
	// Views resolves the read models for the HTTP API (cmd/kaiku's views).
	Views func(pool *pgxpool.Pool, store domain.EventStore) httpapi.Views
	// ServeBinary, when set, is a kaiku binary whose `serve` the benchmark
	// starts to measure the server's peak memory; empty measures the
	// in-process server instead.
	ServeBinary string
	// Log receives one line per phase; Progress makes a counter for one.
	Log      io.Writer
	Progress func(what string, total int64) Progress
}

// locked makes a Progress safe for concurrent workers.
type locked struct {
	mu sync.Mutex
	p  Progress
}

func (l *locked) Add(n int64) { l.mu.Lock(); l.p.Add(n); l.mu.Unlock() }
func (l *locked) Done()       { l.mu.Lock(); l.p.Done(); l.mu.Unlock() }

// progress returns a Progress for what that concurrent workers may share.
func (c Config) progress(what string, total int64) Progress {
	return &locked{p: c.Progress(what, total)}
}

// budget bounds one phase by count and by time.
type budget struct {
	n   int
	max time.Duration
}

type limits struct {
	appends, http, queries budget
	lag                    time.Duration
	lagRate                int
	batch                  int
}

func (c Config) limits() limits {
	if c.Quick {
		return limits{appends: budget{1500, 3 * time.Second}, http: budget{1500, 4 * time.Second},
			queries: budget{50, 2 * time.Second}, lag: 3 * time.Second, lagRate: 1000, batch: 1000}
	}
	return limits{appends: budget{20000, 10 * time.Second}, http: budget{20000, 10 * time.Second},
		queries: budget{200, 5 * time.Second}, lag: 10 * time.Second, lagRate: 1000, batch: 1000}
}

// Run creates the benchmark's database, measures every phase and returns
// the report. It returns an error that says what to do when PostgreSQL
// cannot be reached or the database cannot be created, or the first
// phase's error; the database is dropped (unless Keep) either way.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if cfg.Scale <= 0 {
		return nil, errors.New("--scale must be above 0")
	}
	if cfg.Views == nil || cfg.Progress == nil || cfg.Log == nil {
		return nil, errors.New("bench: Config.Views, Progress and Log are required")
	}
	rep = &Report{Scale: cfg.Scale, Quick: cfg.Quick, Started: time.Now().UTC(), Load: loadAvg(), GoVersion: runtime.Version()}
	start := time.Now()
	url, drop, err := createDatabase(ctx, cfg.DatabaseURL, fmt.Sprintf("kaiku_bench_%d", os.Getpid()))
	if err != nil {
		return nil, err
	}
	defer func() {
		if cfg.Keep {
			fmt.Fprintf(cfg.Log, "bench: kept the database: %s\n", url)
			return
		}
		if derr := drop(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = 24
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the benchmark database: %w", err)
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		return nil, fmt.Errorf("migrate the benchmark database: %w", err)
	}
	if _, err := pool.Exec(ctx, postgres.BaselineDDL); err != nil {
		return nil, fmt.Errorf("create the baseline table: %w", err)
	}
	store := postgres.NewStore(pool)
	defer store.Close()
	r := &run{cfg: cfg, lim: cfg.limits(), pool: pool, store: store, rep: rep, url: url}
	for _, ph := range []struct {
		name string
		do   func(context.Context) error
	}{
		{"generate", r.generate},
		{"import", r.importLog},
		{"rebuild", r.rebuild},
		{"queries", r.queries},
		{"http", r.httpUses},
		{"lag", r.lagPhase},
		{"server", r.serverRSS}, // before appends: serve's read models would stop on their event type
		{"appends", r.appends},
	} {
		fmt.Fprintf(cfg.Log, "bench: %s…\n", ph.name)
		t0 := time.Now()
		if err := ph.do(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", ph.name, err)
		}
		fmt.Fprintf(cfg.Log, "bench: %s done in %.1fs\n", ph.name, time.Since(t0).Seconds())
	}
	r.finish()
	rep.Seconds = time.Since(start).Seconds()
	rep.Load = rep.Load + " → " + loadAvg()
	return rep, nil
}

// createDatabase creates database name on the server of adminURL and
// returns its URL and a function that drops it.
func createDatabase(ctx context.Context, adminURL, name string) (string, func(context.Context) error, error) {
	ccfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL URL (%v): use postgres://user@host:5432/db", err)
	}
	conn, err := pgx.ConnectConfig(ctx, ccfg)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL does not answer (%v): start it, or set DATABASE_URL / --database-url", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
		return "", nil, fmt.Errorf("drop a stale %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident); err != nil {
		return "", nil, fmt.Errorf("create database %s (%v): the benchmark needs a role that may CREATEDB", name, err)
	}
	drop := func(ctx context.Context) error {
		c, err := pgx.ConnectConfig(ctx, ccfg)
		if err != nil {
			return fmt.Errorf("drop %s: %w (drop it by hand)", name, err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop %s: %w (drop it by hand)", name, err)
		}
		return nil
	}
	u := ccfg.ConnString()
	// Point the URL at the new database, keeping the rest.
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		host, query, _ := strings.Cut(rest, "?")
		if j := strings.Index(host, "/"); j >= 0 {
			host = host[:j]
		}
		u = u[:i+3] + host + "/" + name
		if query != "" {
			u += "?" + query
		}
	} else {
		u += " dbname=" + name
	}
	return u, drop, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
