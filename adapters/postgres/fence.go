package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaiku/kaiku/domain"
)

// Fence is where the log's readers stand: they return events only below
// Position, the first position of the oldest transaction still running
// anywhere on the PostgreSQL server (see Store). Events committed at or
// above it wait for that transaction to end.
type Fence struct {
	Position domain.Position
	// Newest is the highest committed position, 0 for an empty log.
	Newest domain.Position
	// HeldEvents counts the committed events the fence holds back;
	// HeldFor is how long the oldest of them has waited (since its
	// transaction started, its recorded time), 0 when none is held back.
	HeldEvents int64
	HeldFor    time.Duration
	// Holder is the transaction at the fence, set when it holds events
	// back and PostgreSQL shows it (a backend, or a prepared transaction).
	Holder *FenceHolder
}

// FenceHolder is the transaction holding the fence: a backend's open
// transaction (PID > 0), or a prepared transaction (Prepared, its gid).
// Application, State and User are empty unless the database user may see
// other sessions' details (a superuser, or a member of pg_read_all_stats).
type FenceHolder struct {
	PID         int
	Application string
	Database    string
	User        string
	State       string // "active", "idle in transaction", ...
	Prepared    string
	// OpenFor is how long its transaction has been open.
	OpenFor time.Duration
}

// String describes the hold for an operator: how long and how many events
// the fence holds back, and everything PostgreSQL shows of the holder.
func (f Fence) String() string {
	return f.describe(true)
}

// Summary is String naming the holder only by pid, application_name and
// how long its transaction has been open, for a public page (/readyz).
func (f Fence) Summary() string {
	return f.describe(false)
}

func (f Fence) describe(full bool) string {
	held := fmt.Sprintf("readers held back %s (%d events)", roundDuration(f.HeldFor), f.HeldEvents)
	switch h := f.Holder; {
	case f.HeldEvents == 0:
		return "readers not held back"
	case h == nil:
		return held + " by a transaction PostgreSQL does not show to this database user (grant it pg_read_all_stats)"
	case h.Prepared != "":
		return fmt.Sprintf("%s by prepared transaction %q, prepared %s ago (COMMIT PREPARED or ROLLBACK PREPARED it)",
			held, h.Prepared, roundDuration(h.OpenFor))
	case full:
		return fmt.Sprintf("%s by backend pid %d (application_name %q, database %s, user %s, %s), its transaction open %s",
			held, h.PID, h.Application, h.Database, h.User, h.State, roundDuration(h.OpenFor))
	default:
		return fmt.Sprintf("%s by backend pid %d (application_name %q), its transaction open %s",
			held, h.PID, h.Application, roundDuration(h.OpenFor))
	}
}

// fenceStatusSQL reads the fence and what it holds back from one snapshot.
const fenceStatusSQL = `
WITH f AS MATERIALIZED (
    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin, ` + fenceSQL + ` AS position
), held AS (
    SELECT count(*) AS n, min(e.recorded_at) AS oldest FROM events e, f WHERE e.position >= f.position
)
SELECT f.position, coalesce((SELECT max(position) FROM events), 0), held.n,
    coalesce(extract(epoch FROM clock_timestamp() - held.oldest), 0)::float8,
    a.pid, coalesce(a.application_name, ''), coalesce(a.datname, ''), coalesce(a.usename, ''), coalesce(a.state, ''),
    coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8,
    p.gid, coalesce(p.database, ''), coalesce(extract(epoch FROM clock_timestamp() - p.prepared), 0)::float8
FROM f CROSS JOIN held
LEFT JOIN pg_stat_activity a ON held.n > 0 AND a.backend_xid = xid(f.xmin)
LEFT JOIN pg_prepared_xacts p ON held.n > 0 AND p.transaction = xid(f.xmin)
ORDER BY a.leader_pid IS NOT NULL -- a parallel query's leader, not its workers
LIMIT 1`

// ReadFence returns the log's fence now, with the transaction holding it
// when it holds events back. q is the log's database (a pool or a
// transaction; in a transaction that holds a transaction id, the fence is
// at most that transaction's).
func ReadFence(ctx context.Context, q Querier) (Fence, error) {
	var (
		f                 Fence
		held, open, popen float64
		pid               *int32
		app, db, usr, st  string
		gid               *string
		pdb               string
	)
	err := q.QueryRow(ctx, fenceStatusSQL).Scan(&f.Position, &f.Newest, &f.HeldEvents, &held,
		&pid, &app, &db, &usr, &st, &open, &gid, &pdb, &popen)
	if err != nil {
		return Fence{}, fmt.Errorf("read the log's fence: %w", err)
	}
	if f.HeldEvents > 0 {
		f.HeldFor = seconds(held)
	}
	switch {
	case pid != nil:
		f.Holder = &FenceHolder{PID: int(*pid), Application: app, Database: db, User: usr, State: st, OpenFor: seconds(open)}
	case gid != nil:
		f.Holder = &FenceHolder{Prepared: *gid, Database: pdb, OpenFor: seconds(popen)}
	}
	return f, nil
}

// roundDuration rounds d for a reader: to the second from 10 s on.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

func seconds(s float64) time.Duration { return time.Duration(max(0, s) * float64(time.Second)) }

// FenceCollector reports the fence to Prometheus on each scrape, reading it
// from pool (bounded by a few seconds):
//
//	kaiku_log_fence_lag_events   committed events the fence holds back
//	kaiku_log_fence_lag_seconds  how long the oldest of them has waited
//
// Both stay 0 while readers keep up. A scrape that cannot read the fence
// reports an error for both.
type FenceCollector struct {
	pool    *pgxpool.Pool
	events  *prometheus.Desc
	seconds *prometheus.Desc
}

// NewFenceCollector returns a collector of the fence of the log in pool.
func NewFenceCollector(pool *pgxpool.Pool) *FenceCollector {
	return &FenceCollector{
		pool: pool,
		events: prometheus.NewDesc("kaiku_log_fence_lag_events",
			"Committed events the log's read fence holds back (an older transaction of the server is still open).", nil, nil),
		seconds: prometheus.NewDesc("kaiku_log_fence_lag_seconds",
			"How long the oldest event the log's read fence holds back has waited.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *FenceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.seconds
}

// Collect implements prometheus.Collector.
func (c *FenceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := ReadFence(ctx, c.pool)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
		ch <- prometheus.NewInvalidMetric(c.seconds, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(f.HeldEvents))
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, f.HeldFor.Seconds())
}

// IdleInTransactionTimeout is the idle_in_transaction_session_timeout
// ConfigureSessions gives Kaiku's own sessions: none of them waits on its
// client inside a transaction for anywhere near this long, and a session
// that does (a bug, a stopped process) ends instead of holding the log's
// fence and every reader behind it.
const IdleInTransactionTimeout = time.Minute

// ConfigureSessions bounds how long Kaiku's sessions may sit idle inside
// a transaction (IdleInTransactionTimeout) and names them "kaiku" in
// pg_stat_activity (so a fence report says when Kaiku itself holds the
// fence), each unless the connection string already sets
// idle_in_transaction_session_timeout or application_name.
func ConfigureSessions(cfg *pgxpool.Config) {
	for key, v := range map[string]string{
		"idle_in_transaction_session_timeout": fmt.Sprint(IdleInTransactionTimeout.Milliseconds()),
		"application_name":                    "kaiku",
	} {
		if _, set := cfg.ConnConfig.RuntimeParams[key]; !set {
			cfg.ConnConfig.RuntimeParams[key] = v
		}
	}
}

var _ prometheus.Collector = (*FenceCollector)(nil)
