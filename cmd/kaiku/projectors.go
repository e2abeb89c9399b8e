package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/catalog"
)

// supervisor keeps a projections.Runner running over the read-model
// versions the catalog serves (live and restated ones; a version being
// rebuilt is caught up by `kaiku rebuild` itself). When the set changes (a
// rebuild switched, a restatement was built) it stops the
// runner at its checkpoints and starts one over the new set; every version
// resumes from its own checkpoint, so nothing is applied twice or lost.
type supervisor struct {
	pool     *pgxpool.Pool
	store    domain.EventStore
	commands *command.Handler
	every    time.Duration
	log      *slog.Logger
	// passive builds the runner for status but never runs it: the read
	// models are built by `kaiku project` processes elsewhere.
	passive bool

	mu      sync.Mutex
	runner  *projections.Runner
	reg     *prometheus.Registry
	current []string
	err     error
}

func newSupervisor(pool *pgxpool.Pool, store domain.EventStore, h *command.Handler, log *slog.Logger) *supervisor {
	return &supervisor{pool: pool, store: store, commands: h, every: 2 * time.Second, log: log}
}

// Run supervises until ctx ends, then returns after the runner stopped.
func (s *supervisor) Run(ctx context.Context) {
	var (
		cancel context.CancelFunc
		done   chan struct{}
	)
	stop := func() {
		if cancel != nil {
			cancel()
			<-done
			cancel = nil
		}
	}
	defer stop()
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		vs, err := catalog.Serving(ctx, s.pool)
		if err == nil {
			names := make([]string, 0, len(vs))
			for _, v := range vs {
				names = append(names, v.Schema)
			}
			if !slices.Equal(names, s.currentNames()) {
				stop()
				var r *projections.Runner
				var reg *prometheus.Registry
				r, reg, err = s.newRunner(ctx, vs)
				if err == nil && s.passive {
					s.mu.Lock()
					s.runner, s.reg, s.current, s.err = r, reg, names, nil
					s.mu.Unlock()
				} else if err == nil {
					rctx, c := context.WithCancel(ctx)
					cancel, done = c, make(chan struct{})
					go func() {
						defer close(done)
						if err := r.Run(rctx); err != nil {
							s.setErr(err)
						}
					}()
					s.mu.Lock()
					s.runner, s.reg, s.current, s.err = r, reg, names, nil
					s.mu.Unlock()
					s.log.Info("projectors running", "versions", names)
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			s.setErr(err)
			s.log.Error("projector supervisor", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *supervisor) currentNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *supervisor) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *supervisor) newRunner(ctx context.Context, vs []catalog.Version) (*projections.Runner, *prometheus.Registry, error) {
	var g *guideline.Guideline
	ps := make([]projections.Projection, 0, len(vs))
	for _, v := range vs {
		var rules *guideline.Rules
		if v.Rules != "" {
			if g == nil {
				var err error
				if g, err = s.commands.Guideline(ctx); err != nil {
					return nil, nil, fmt.Errorf("rules of restated %s: %w", v.Schema, err)
				}
			}
			rv, err := g.Version(guideline.Version(v.Rules))
			if err != nil {
				return nil, nil, fmt.Errorf("rules of restated %s: %w", v.Schema, err)
			}
			rules = &rv.Rules
		}
		p, err := catalog.Projection(v, rules)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p)
	}
	reg := prometheus.NewRegistry()
	r, err := projections.NewRunner(projections.Config{DB: s.pool, Store: s.store, Registerer: reg}, ps...)
	return r, reg, err
}

// Status is the current runner's status (for /v1/projections and /readyz).
func (s *supervisor) Status(ctx context.Context) ([]projections.Status, error) {
	s.mu.Lock()
	r, err := s.runner, s.err
	s.mu.Unlock()
	if r == nil {
		if err == nil {
			err = fmt.Errorf("projectors are starting")
		}
		return nil, err
	}
	return r.Status(ctx)
}

// Ready reports an error unless every projection is catching up or running
// (or, when passive, has not stopped on a poison event).
func (s *supervisor) Ready(ctx context.Context) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	for _, p := range st {
		if p.State == projections.StateFailed || (p.State == projections.StateStopped && !s.passive) {
			return fmt.Errorf("projection %s is %s", p.Name, p.State)
		}
	}
	return nil
}

// Gather makes the current runner's metrics part of /metrics.
func (s *supervisor) Gather() ([]*dto.MetricFamily, error) {
	s.mu.Lock()
	reg := s.reg
	s.mu.Unlock()
	if reg == nil {
		return nil, nil
	}
	return reg.Gather()
}
