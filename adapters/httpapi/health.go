package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
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

// FenceWatch reports the log's read fence (postgres.ReadFence) to /readyz
// and GET /v1/projections. The fence is server wide: one transaction left
// open anywhere on the PostgreSQL server holds every reader of the log
// back. Once it has held events back for longer than Alert, the readiness
// check FenceReady fails naming the transaction's backend, and every
// projection behind the newest event names it in fenceHeldBy.
type FenceWatch struct {
	Read  func(ctx context.Context) (postgres.Fence, error)
	Alert time.Duration
}

// stuck returns the fence when it has held events back for longer than
// Alert, else nil.
func (f *FenceWatch) stuck(ctx context.Context) (*postgres.Fence, error) {
	fence, err := f.Read(ctx)
	if err != nil {
		return nil, err
	}
	if fence.HeldEvents == 0 || fence.HeldFor <= f.Alert {
		return nil, nil
	}
	return &fence, nil
}

// FenceHolder is the transaction holding the log's read fence: a
// backend's open transaction (pid) or a prepared one (prepared, its gid).
// The backend's details are empty when PostgreSQL does not show them to
// Kaiku's database user (grant it pg_read_all_stats).
type FenceHolder struct {
	PID             int     `json:"pid,omitempty"`
	ApplicationName string  `json:"applicationName,omitempty"`
	Database        string  `json:"database,omitempty"`
	User            string  `json:"user,omitempty"`
	State           string  `json:"state,omitempty"`
	Prepared        string  `json:"prepared,omitempty"`
	OpenSeconds     float64 `json:"openSeconds"`
	HeldEvents      int64   `json:"heldEvents"`
	HeldSeconds     float64 `json:"heldSeconds"`
}

// heldBy returns the transaction holding the fence and the newest
// committed position when the fence is stuck (see stuck), else nil.
func (f *FenceWatch) heldBy(ctx context.Context) (*FenceHolder, domain.Position, error) {
	fence, err := f.stuck(ctx)
	if err != nil || fence == nil {
		return nil, 0, err
	}
	return fenceHolderOf(*fence), fence.Newest, nil
}

func fenceHolderOf(f postgres.Fence) *FenceHolder {
	out := &FenceHolder{HeldEvents: f.HeldEvents, HeldSeconds: f.HeldFor.Seconds()}
	if h := f.Holder; h != nil {
		out.PID, out.ApplicationName, out.Database, out.User, out.State, out.Prepared =
			h.PID, h.Application, h.Database, h.User, h.State, h.Prepared
		out.OpenSeconds = h.OpenFor.Seconds()
	}
	return out
}

// FenceReady fails while the log's fence has held events back for longer
// than f.Alert. Its /readyz entry names the backend (pid, application
// name, how long its transaction has been open) so that an operator can
// end it (pg_terminate_backend); the full detail goes to the log.
func FenceReady(f *FenceWatch) ReadyFunc {
	return func(ctx context.Context) error {
		fence, err := f.stuck(ctx)
		if err != nil || fence == nil {
			return err
		}
		return explained{public: fence.Summary(), err: errors.New(fence.String())}
	}
}

// explained is a readiness failure whose reason may be published on
// /readyz: it names no data, only which session holds things up.
type explained struct {
	public string
	err    error
}

func (e explained) Error() string { return e.err.Error() }

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
// explained (the endpoint is public), except a stuck fence's, which names
// the session holding it (FenceReady); the reason is logged at warn level.
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
					var ex explained
					if errors.As(err, &ex) {
						res.Checks[c.Name] = "failing: " + ex.public
					}
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
