package projections

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kaiku/kaiku/domain"
)

// worker is the runtime state of one projection.
type worker struct {
	p       Projection
	name    string
	handler string
	policy  PoisonPolicy
	types   map[string]bool // nil: every type
	chain   message.NoPublishHandlerFunc
	resume  chan struct{}

	mu       sync.Mutex
	state    State
	position domain.Position
	failure  *Failure
	rebuild  *Progress
	stopLive context.CancelFunc
}

func (w *worker) setState(s State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failure == nil || s == StateStopped {
		w.state = s
	}
}

func (w *worker) pos() domain.Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.position
}

// advance records a committed checkpoint; it never moves backwards except
// through setPosition (a rebuild's commit, a reload).
func (w *worker) advance(p domain.Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p > w.position {
		w.position = p
	}
}

func (w *worker) setPosition(p domain.Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.position = p
}

func (w *worker) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failure != nil
}

func (w *worker) fail(rec domain.Record, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failure = &Failure{Position: rec.Position, EventID: rec.ID, Type: rec.Name(), Error: err.Error(), At: time.Now().UTC()}
	w.state = StateFailed
	if w.stopLive != nil {
		w.stopLive()
	}
}

func (w *worker) clearFailure() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failure = nil
}

func (w *worker) setStopLive(cancel context.CancelFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLive = cancel
}
