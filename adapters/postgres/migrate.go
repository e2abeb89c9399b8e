package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/migrations"
)

// migrationLock is the advisory lock key that serialises concurrent
// migrators (two `kaiku serve` starting at once).
const migrationLock = 0x6b61696b75 // "kaiku"

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order. It fails
// when a file name is not NNNN_name.sql or two files share a number.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every embedded migration not yet applied, each in its own
// transaction together with its row in kaiku_migrations, under an advisory
// lock, then raises the log's epoch when the log is ahead of the cluster's
// transaction ids (RaiseEpoch: after a restore into another cluster),
// logging the raise at warn level. It is idempotent and safe to run from
// several processes at once. progress, if not nil, is called with each
// migration applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool, progress func(Migration)) (applied int, err error) {
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS kaiku_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	done := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM kaiku_migrations`)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, v := range vs {
		done[v] = true
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO kaiku_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s failed (nothing of it was applied; fix the SQL or the database and run `kaiku migrate` again): %w", m.Name, err)
		}
		applied++
		if progress != nil {
			progress(m)
		}
	}
	r, err := raiseEpoch(ctx, conn)
	if err != nil {
		return applied, err
	}
	if r != nil {
		slog.WarnContext(ctx, "the log was ahead of this PostgreSQL cluster's transaction ids (restored from another cluster?): raised its epoch so that new events follow the restored ones",
			"old_offset", r.OldOffset, "new_offset", r.NewOffset, "log_head", int64(r.LogHead), "cluster_xmin", r.ClusterXmin)
	}
	return applied, nil
}

// Pending returns the migrations not yet applied to the database.
func Pending(ctx context.Context, q Querier) ([]Migration, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('kaiku_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return ms, nil
	}
	rows, err := q.Query(ctx, `SELECT version FROM kaiku_migrations`)
	if err != nil {
		return nil, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, err
	}
	done := map[int]bool{}
	for _, v := range vs {
		done[v] = true
	}
	var out []Migration
	for _, m := range ms {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}
