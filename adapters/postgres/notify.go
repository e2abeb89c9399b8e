package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
)

// notifyChannel is the LISTEN/NOTIFY channel stores announce appends on.
const notifyChannel = "kaiku_events"

// notifier wakes WaitForAppend callers. Appends through this Store wake
// local waiters at once; other processes learn of them by a NOTIFY that a
// background goroutine sends after the append committed, coalescing a
// burst of appends into one. The NOTIFY is deliberately not part of the
// append's transaction: PostgreSQL serialises the commits of notifying
// transactions behind one cluster-wide lock, which would undo group commit
// for concurrent appenders.
//
// One listener connection, taken out of the pool on the first wait, serves
// every waiter; it reconnects after errors and wakes all waiters when it
// does, since notifications may have been lost meanwhile.
type notifier struct {
	pool *pgxpool.Pool
	// maxWait bounds a wait: events can become readable without any
	// append, when an unrelated transaction that held the fence ends.
	maxWait time.Duration

	mu        sync.Mutex
	wake      chan struct{} // closed and replaced on every wake-up
	listening bool
	closed    bool
	stop      context.CancelFunc
	done      chan struct{}

	pending atomic.Bool // an append since the last NOTIFY was sent
	sending atomic.Bool // a goroutine is sending NOTIFYs
	sent    atomic.Int64
}

func newNotifier(pool *pgxpool.Pool) *notifier {
	return &notifier{pool: pool, maxWait: time.Second, wake: make(chan struct{})}
}

// WaitForAppend returns nil when an append may have happened since the
// call, or after at most a second (events also become readable when an
// unrelated transaction that held ReadAll's fence ends, which nothing
// announces), or ctx's error when ctx ends first. The first call starts the
// store's listener; Close stops it.
func (s *Store) WaitForAppend(ctx context.Context) error {
	return s.n.wait(ctx)
}

// Close stops the store's notification listener. It does not close the
// pool. WaitForAppend after Close waits for local appends and timeouts only.
func (s *Store) Close() {
	s.n.close()
}

func (n *notifier) wait(ctx context.Context) error {
	n.mu.Lock()
	ch := n.wake
	if !n.listening && !n.closed {
		n.listening = true
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		n.stop, n.done = cancel, make(chan struct{})
		go n.listen(lctx, n.done)
	}
	n.mu.Unlock()
	t := time.NewTimer(n.maxWait)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	stop, done := n.stop, n.done
	n.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	close(n.wake)
	n.wake = make(chan struct{})
	n.mu.Unlock()
}

// appended wakes local waiters and makes sure a NOTIFY follows.
func (n *notifier) appended(ctx context.Context) {
	n.broadcast()
	n.pending.Store(true)
	if n.sending.CompareAndSwap(false, true) {
		go n.send(context.WithoutCancel(ctx))
	}
}

// send issues NOTIFYs while appends keep coming, one at a time.
func (n *notifier) send(ctx context.Context) {
	for {
		for n.pending.Swap(false) {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := n.pool.Exec(sctx, `SELECT pg_notify($1, '')`, notifyChannel)
			cancel()
			if err == nil {
				n.sent.Add(1)
			}
		}
		n.sending.Store(false)
		// An append may have set pending after the loop's last check but
		// before sending was cleared; take over again if so.
		if !n.pending.Load() || !n.sending.CompareAndSwap(false, true) {
			return
		}
	}
}

// listen holds one LISTEN connection until ctx ends or the pool closes.
func (n *notifier) listen(ctx context.Context, done chan struct{}) {
	defer close(done)
	defer func() {
		n.mu.Lock()
		n.listening = false
		n.mu.Unlock()
	}()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := n.listenOnce(ctx, func() { backoff = 50 * time.Millisecond })
		if errors.Is(err, puddle.ErrClosedPool) {
			return
		}
		n.broadcast()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listenOnce connects, listens and wakes waiters on every notification
// until the connection fails. connected is called once LISTEN is in place.
func (n *notifier) listenOnce(ctx context.Context, connected func()) error {
	pc, err := n.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// Taken out of the pool, so that closing the pool need not wait for it.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx) //nolint:errcheck
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return err
	}
	connected()
	n.broadcast() // appends may have happened before LISTEN took effect
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		n.broadcast()
	}
}
