package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaiku/kaiku/domain"
)

// DB is what the runner needs of PostgreSQL; a *pgxpool.Pool fits.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// PoisonPolicy says what happens to an event a projection still fails on
// after its retries.
type PoisonPolicy int

const (
	// PoisonStop parks the event and stops the projection before it, in
	// state failed (the default; see the package doc for why).
	PoisonStop PoisonPolicy = iota
	// PoisonSkip parks the event and moves the checkpoint past it in the
	// same transaction.
	PoisonSkip
)

// Config configures a Runner. Only DB and Store are required.
type Config struct {
	// DB holds the read models, projection_checkpoints and
	// projection_parked (migration 0004).
	DB DB
	// Store is the log.
	Store domain.EventStore
	// PageSize is how many records one catch-up page reads and one
	// catch-up transaction applies. Default 5000.
	PageSize int
	// BatchSize bounds the events one live transaction applies (the
	// message plus those already waiting behind it). Default 500.
	BatchSize int
	// Retry retries a failing event before it is poison. Zero value:
	// 5 retries, 100ms doubling up to 5s. Its ShouldRetry and Logger are
	// set by the runner.
	Retry middleware.Retry
	// Poison is the default poison policy; PoisonPolicies overrides it
	// per projection name.
	Poison         PoisonPolicy
	PoisonPolicies map[string]PoisonPolicy
	// Stats tells the head of the log and counts events for lag. Default:
	// the Store itself when it implements LogStats; else the Store's
	// Head(ctx) when it has one (postgres.Store) and a count over the
	// events table of DB.
	Stats LogStats
	// StatusInterval is how often Run refreshes the lag gauges. Default 10s.
	StatusInterval time.Duration
	// Registerer receives the metrics (see NewRunner); nil registers none.
	Registerer prometheus.Registerer
	// Logger defaults to watermill.NopLogger.
	Logger watermill.LoggerAdapter
	// PollInterval and MaxWait tune the live subscriber (logbus defaults).
	PollInterval, MaxWait time.Duration
}

// Validate reports missing required fields.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("projections: Config.DB is required")
	case c.Store == nil:
		return errors.New("projections: Config.Store is required")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.PageSize <= 0 {
		c.PageSize = 5000
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.Retry.MaxRetries == 0 && c.Retry.InitialInterval == 0 {
		c.Retry.MaxRetries = 5
		c.Retry.InitialInterval = 100 * time.Millisecond
		c.Retry.MaxInterval = 5 * time.Second
		c.Retry.Multiplier = 2
	}
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = 2
	}
	if c.Retry.MaxInterval == 0 {
		c.Retry.MaxInterval = 5 * time.Second
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
	if c.Stats == nil {
		if s, ok := c.Store.(LogStats); ok {
			c.Stats = s
		} else {
			c.Stats = eventsTable{db: c.DB, store: c.Store}
		}
	}
}

// ErrUnknownProjection is returned (wrapped) for a name no projection of
// the runner has.
var ErrUnknownProjection = errors.New("unknown projection")

// ErrNotRebuildable is returned (wrapped) by Rebuild for a projection that
// does not implement Resetter.
var ErrNotRebuildable = errors.New("projection cannot be reset")

// errStopped says a projection stopped on a poison event.
var errStopped = errors.New("projection stopped on a poison event")

// Runner runs projections: catch-up, live tailing, retries, poison
// handling, rebuilds, status and metrics.
type Runner struct {
	cfg     Config
	workers []*worker
	byName  map[string]*worker
	metrics *metrics
}

// NewRunner returns a Runner for ps. It returns an error for an invalid
// config, an empty or duplicate projection name, or metrics that cannot be
// registered (names are kaiku_projection_*; see metrics.go).
func NewRunner(cfg Config, ps ...Projection) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &Runner{cfg: cfg, byName: map[string]*worker{}}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	for _, p := range ps {
		name := p.Name()
		if name == "" {
			return nil, errors.New("projections: a projection has an empty name")
		}
		if _, dup := r.byName[name]; dup {
			return nil, fmt.Errorf("projections: two projections are named %q", name)
		}
		policy := cfg.Poison
		if pp, ok := cfg.PoisonPolicies[name]; ok {
			policy = pp
		}
		w := &worker{p: p, name: name, handler: HandlerName(p), policy: policy, state: StateStopped, resume: make(chan struct{}, 1)}
		if f, ok := p.(TypeFilter); ok && len(f.EventTypes()) > 0 {
			w.types = map[string]bool{}
			for _, t := range f.EventTypes() {
				w.types[t] = true
			}
		}
		w.chain = r.chain(w)
		r.workers = append(r.workers, w)
		r.byName[name] = w
	}
	return r, nil
}

func (r *Runner) worker(name string) (*worker, error) {
	w, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("projection %q: %w", name, ErrUnknownProjection)
	}
	return w, nil
}

// Run runs every projection until ctx ends: each catches up from its
// checkpoint, then follows the log live. A projection that stops on a
// poison event waits (state failed) for Resume or for ctx to end; the
// others go on. Infrastructure errors (database down) are logged and
// retried. Run returns nil when ctx ends, or an error when the checkpoint
// rows cannot be created at start.
func (r *Runner) Run(ctx context.Context) error {
	for _, w := range r.workers {
		if err := r.ensureCheckpoint(ctx, w); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runWorker(ctx, w)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.StatusInterval)
		defer t.Stop()
		for {
			if _, err := r.Status(ctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Error("Refreshing projection status failed", err, nil)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	wg.Wait()
	for _, w := range r.workers {
		w.setState(StateStopped)
	}
	return nil
}

// Resume restarts a projection that stopped on a poison event: it retries
// the event (fixed data or code, or a transient cause now gone). It returns
// an error wrapping ErrUnknownProjection for an unknown name; resuming a
// projection that has not failed does nothing.
func (r *Runner) Resume(name string) error {
	w, err := r.worker(name)
	if err != nil {
		return err
	}
	select {
	case w.resume <- struct{}{}:
	default:
	}
	return nil
}

func (r *Runner) runWorker(ctx context.Context, w *worker) {
	log := r.cfg.Logger.With(watermill.LogFields{"projection": w.name})
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.loadCheckpoint(ctx, w)
		if err == nil {
			w.setState(StateCatchingUp)
			err = r.catchUp(ctx, w)
		}
		if err == nil {
			w.setState(StateRunning)
			err = r.live(ctx, w)
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errStopped):
			log.Info("Projection stopped on a poison event; waiting for Resume", nil)
			select {
			case <-ctx.Done():
				return
			case <-w.resume:
				w.clearFailure()
				backoff = 100 * time.Millisecond
			}
		case err != nil:
			log.Error("Projection failed, restarting", err, watermill.LogFields{"backoff": backoff})
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}
}
