// Package pgtest gives tests their own PostgreSQL database on the real
// server: it reads DATABASE_URL (else postgres://postgres@127.0.0.1:5432/postgres),
// creates a fresh database per test, applies the migrations, and drops the
// database when the test ends. With no server reachable it skips the test
// saying how to provide one, unless KAIKU_REQUIRE_DB=1 (CI) makes that fail.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
)

// DefaultURL is used when DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL tests connect to for creating databases.
func AdminURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var counter atomic.Int64

// NewDatabase creates an empty database for tb (no migrations) and returns
// its URL. The database is dropped at cleanup.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL at %s (%v): set DATABASE_URL, or run the tests through scripts/test, which finds or starts one", redact(AdminURL()), err)
		if os.Getenv("KAIKU_REQUIRE_DB") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("kaiku_t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000, counter.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			tb.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewPool creates a fresh migrated database for tb and returns a pool on
// it, closed at cleanup.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := NewDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		tb.Fatalf("connect test database: %v", err)
	}
	tb.Cleanup(pool.Close)
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return pool
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return strings.TrimSpace(u.String())
}
