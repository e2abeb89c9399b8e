package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// State is what a projection is doing.
type State string

const (
	// StateStopped: not running in this process.
	StateStopped State = "stopped"
	// StateCatchingUp: applying a backlog on the fast path.
	StateCatchingUp State = "catching_up"
	// StateRunning: live, following the log.
	StateRunning State = "running"
	// StateFailed: stopped on a poison event (see Status.Failure).
	StateFailed State = "failed"
	// StateRebuilding: Rebuild is replaying the log (see Status.Rebuild).
	StateRebuilding State = "rebuilding"
)

// Failure is the poison event a projection stopped on.
type Failure struct {
	Position domain.Position
	EventID  domain.EventID
	Type     string // full stored name, "card.issued.v1"
	Error    string
	At       time.Time
}

// Progress is a running rebuild's progress: it has applied the log up to
// Position, of the log up to Target as it was when the rebuild started.
type Progress struct {
	Target    domain.Position
	Position  domain.Position
	Events    int64 // records read so far
	StartedAt time.Time
}

// Status is one projection's state for /v1/projections.
type Status struct {
	Name      string
	Handler   string // Watermill handler name, "stats.OnEvent"
	State     State
	Position  domain.Position // checkpoint
	UpdatedAt time.Time       // when the checkpoint last moved
	Head      domain.Position // last position of the log
	// LagEvents counts the events after the checkpoint; LagSeconds is the
	// age (by record time) of the oldest of them, 0 when there is none.
	LagEvents  int64
	LagSeconds float64
	Failure    *Failure  // set in StateFailed
	Skipped    int64     // poison events skipped (PoisonSkip) so far
	Rebuild    *Progress // set in StateRebuilding
}

// LogStats tells how far the log goes, for lag figures.
type LogStats interface {
	// Head returns the position of the last event, 0 for an empty log.
	Head(ctx context.Context) (domain.Position, error)
	// CountAfter returns the number of events with a position > after.
	CountAfter(ctx context.Context, after domain.Position) (int64, error)
}

// headReader is implemented by stores that know their readable head
// (postgres.Store.Head).
type headReader interface {
	Head(ctx context.Context) (domain.Position, error)
}

// eventsTable reads LogStats from the PostgreSQL store's events table,
// taking the head from the store when it can tell it.
type eventsTable struct {
	db    DB
	store domain.EventStore
}

func (e eventsTable) Head(ctx context.Context) (domain.Position, error) {
	if h, ok := e.store.(headReader); ok {
		return h.Head(ctx)
	}
	var p int64
	if err := e.db.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&p); err != nil {
		return 0, fmt.Errorf("log head: %w", err)
	}
	return domain.Position(p), nil
}

func (e eventsTable) CountAfter(ctx context.Context, after domain.Position) (int64, error) {
	var n int64
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM events WHERE position > $1`, int64(after)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// Status returns every projection's status, in the order given to
// NewRunner, and refreshes the lag gauges. Positions, failures and skips
// come from the database, so Status is right even where the projections
// run in another process (their state then reads stopped, or failed when a
// poison event blocks them). It returns the database's or store's error.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	head, err := r.cfg.Stats.Head(ctx)
	if err != nil {
		return nil, err
	}
	r.metrics.head.Set(float64(head))
	names := make([]string, len(r.workers))
	for i, w := range r.workers {
		names[i] = w.name
	}
	type cp struct {
		pos     domain.Position
		updated time.Time
	}
	cps := map[string]cp{}
	rows, err := r.cfg.DB.Query(ctx, `SELECT name, position, updated_at FROM projection_checkpoints WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	for rows.Next() {
		var n string
		var c cp
		if err := rows.Scan(&n, &c.pos, &c.updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		cps[n] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	skipped := map[string]int64{}
	stuck := map[string]*Failure{}
	rows, err = r.cfg.DB.Query(ctx, `SELECT projection, position, event_id::text, type, error, skipped, parked_at
		FROM projection_parked WHERE projection = ANY($1) ORDER BY position`, names)
	if err != nil {
		return nil, fmt.Errorf("read parked events: %w", err)
	}
	for rows.Next() {
		var n string
		var f Failure
		var skip bool
		if err := rows.Scan(&n, &f.Position, &f.EventID, &f.Type, &f.Error, &skip, &f.At); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read parked events: %w", err)
		}
		if skip {
			skipped[n]++
		} else if f.Position > cps[n].pos && stuck[n] == nil {
			stuck[n] = &f
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read parked events: %w", err)
	}

	out := make([]Status, 0, len(r.workers))
	now := time.Now()
	for _, w := range r.workers {
		c := cps[w.name]
		s := Status{Name: w.name, Handler: w.handler, Position: c.pos, UpdatedAt: c.updated, Head: head, Skipped: skipped[w.name]}
		w.mu.Lock()
		s.State = w.state
		if w.failure != nil {
			f := *w.failure
			s.Failure = &f
		}
		if w.rebuild != nil {
			p := *w.rebuild
			s.Rebuild = &p
		}
		w.mu.Unlock()
		if s.Failure == nil && stuck[w.name] != nil && s.State == StateStopped {
			s.State, s.Failure = StateFailed, stuck[w.name]
		}
		if s.Position < head {
			if s.LagEvents, err = r.cfg.Stats.CountAfter(ctx, s.Position); err != nil {
				return nil, err
			}
			next, err := r.cfg.Store.ReadAll(ctx, s.Position, 1)
			if err != nil {
				return nil, fmt.Errorf("read the log: %w", err)
			}
			if len(next) > 0 && !next[0].RecordedAt.IsZero() {
				s.LagSeconds = max(0, now.Sub(next[0].RecordedAt).Seconds())
			}
		}
		failed := 0.0
		if s.State == StateFailed {
			failed = 1
		}
		r.metrics.position.WithLabelValues(w.name).Set(float64(s.Position))
		r.metrics.lagEvents.WithLabelValues(w.name).Set(float64(s.LagEvents))
		r.metrics.lagSeconds.WithLabelValues(w.name).Set(s.LagSeconds)
		r.metrics.failed.WithLabelValues(w.name).Set(failed)
		out = append(out, s)
	}
	return out, nil
}
