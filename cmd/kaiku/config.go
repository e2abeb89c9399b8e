package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
)

// config is the process configuration. Each field has an environment
// variable and a flag of the same meaning; the flag wins.
type config struct {
	DatabaseURL string // DATABASE_URL: PostgreSQL for the log and the read models
	Addr        string // KAIKU_ADDR: HTTP listen address
	Store       string // KAIKU_STORE: "postgres" or a kurrentdb:// / esdb:// URL
	Bus         string // KAIKU_BUS: "" (in process) or a nats:// URL
	SealKey     string // KAIKU_SEAL_KEY: optional HMAC key for audit seals
	// KAIKU_IDEMPOTENCY_RETENTION: how long idempotency rows are kept
	IdempotencyRetention string
}

// idempotencyRetention parses IdempotencyRetention, with an error that
// says what to write.
func (c *config) idempotencyRetention() (time.Duration, error) {
	d, err := time.ParseDuration(c.IdempotencyRetention)
	if err != nil || d < postgres.MinIdempotencyRetention {
		return 0, fmt.Errorf("KAIKU_IDEMPOTENCY_RETENTION / --idempotency-retention %q: write a duration of at least 24h, e.g. 48h", c.IdempotencyRetention)
	}
	return d, nil
}

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// bind registers the flags a command needs, defaulting from the environment.
func (c *config) bind(fs *flag.FlagSet, e *env, fields ...string) {
	def := func(key, fallback string) string {
		if v := e.getenv(key); v != "" {
			return v
		}
		return fallback
	}
	c.SealKey = e.getenv("KAIKU_SEAL_KEY")
	for _, f := range fields {
		switch f {
		case "db":
			fs.StringVar(&c.DatabaseURL, "database-url", def("DATABASE_URL", defaultDatabaseURL), "PostgreSQL URL for the log and the read models (env DATABASE_URL)")
		case "addr":
			fs.StringVar(&c.Addr, "addr", def("KAIKU_ADDR", "127.0.0.1:8080"), "HTTP listen address (env KAIKU_ADDR)")
		case "store":
			fs.StringVar(&c.Store, "store", def("KAIKU_STORE", "postgres"), "event store: postgres, or a kurrentdb:// or esdb:// URL (env KAIKU_STORE)")
		case "idempotency":
			fs.StringVar(&c.IdempotencyRetention, "idempotency-retention", def("KAIKU_IDEMPOTENCY_RETENTION", "48h"),
				"how long answers to requests with an Idempotency-Key are kept, at least 24h (env KAIKU_IDEMPOTENCY_RETENTION)")
		case "bus":
			fs.StringVar(&c.Bus, "bus", def("KAIKU_BUS", ""), "event bus for projectors: empty = in process, or a nats:// URL (env KAIKU_BUS)")
		default:
			panic("config: unknown field " + f)
		}
	}
}

// openPool connects to PostgreSQL and checks it answers, with an error that
// says what to do when it does not.
func (c *config) openPool(ctx context.Context) (*pgxpool.Pool, error) {
	return c.open(ctx, nil)
}

// openStorePool is openPool for the event store's own pool, whose
// statements PostgreSQL plans once (postgres.ConfigureStorePool); the read
// models keep custom plans on the other pool.
func (c *config) openStorePool(ctx context.Context) (*pgxpool.Pool, error) {
	return c.open(ctx, postgres.ConfigureStorePool)
}

func (c *config) open(ctx context.Context, tune func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL URL (%v): use postgres://user@host:5432/db", err)
	}
	if pcfg.MaxConns < 16 {
		pcfg.MaxConns = 16
	}
	postgres.ConfigureSessions(pcfg)
	if tune != nil {
		tune(pcfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL at %s does not answer (%v): start it, or set DATABASE_URL / --database-url; scripts/run finds or starts one for you", redactURL(c.DatabaseURL), err)
	}
	return pool, nil
}

func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.Index(s[i+3:], "@"); at >= 0 {
			cred := s[i+3 : i+3+at]
			if u, _, ok := strings.Cut(cred, ":"); ok {
				return s[:i+3] + u + ":xxx" + s[i+3+at:]
			}
		}
	}
	return s
}
