package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// NewStoreInsertBatches returns a store whose AppendBatch uses one INSERT
// statement instead of COPY, so the contract and the benchmarks cover it.
func NewStoreInsertBatches(pool *pgxpool.Pool) *Store {
	s := NewStore(pool)
	s.insertBatches = true
	return s
}

// SetMaxWait changes how long WaitForAppend waits without a wake-up.
func (s *Store) SetMaxWait(d time.Duration) { s.n.maxWait = d }

// WakeChan returns the channel the next wake-up closes.
func (s *Store) WakeChan() <-chan struct{} {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	return s.n.wake
}
