package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
)

// ReadyFunc reports whether one dependency is ready to serve: nil when it
// is, an error saying why not otherwise.
type ReadyFunc func(ctx context.Context) error

// Check is one named readiness check of /readyz.
type Check struct {
	Name  string
	Ready ReadyFunc
}

// checkTimeout bounds each readiness check.
const checkTimeout = 2 * time.Second

// Pinger is anything that answers a ping, such as *pgxpool.Pool.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingReady is ready when p answers a ping (PostgreSQL is reachable).
func PingReady(p Pinger) ReadyFunc {
	return func(ctx context.Context) error { return p.Ping(ctx) }
}

// MigrationsReady is ready when every embedded migration is applied to the
// database q reaches (postgres.Pending is empty).
func MigrationsReady(q postgres.Querier) ReadyFunc {
	return func(ctx context.Context) error {
		pending, err := postgres.Pending(ctx, q)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			return fmt.Errorf("%d migrations pending, first %s: run `kaiku migrate`", len(pending), pending[0].Name)
		}
		return nil
	}
}

// healthz answers 200 while the process runs.
func healthz(w http.ResponseWriter, _ *http.Request) error {
	return WriteJSON(w, http.StatusOK, Health{Status: "ok"})
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// readyz runs every check at once, each bounded by checkTimeout, and
// answers 200 when all pass, else 503. Failures are named but not
// explained (the endpoint is public); the reason is logged at warn level.
func readyz(checks []Check) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		res := Health{Status: "ready", Checks: map[string]string{}}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range checks {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
				defer cancel()
				err := c.Ready(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					slog.WarnContext(r.Context(), "not ready", "check", c.Name, "err", err)
					res.Checks[c.Name] = "failing"
					res.Status = "not ready"
					return
				}
				res.Checks[c.Name] = "ok"
			})
		}
		wg.Wait()
		status := http.StatusOK
		if res.Status != "ready" {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		return WriteJSON(w, status, res)
	}
}
