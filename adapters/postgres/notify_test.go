package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

// woken fails the test unless ch is closed within a minute (a guard
// against hanging, not a timing assertion).
func woken(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s: no wake-up", what)
	}
}

func TestWaitForAppend(t *testing.T) {
	t.Parallel()
	reader, pool := newStore(t)
	reader.SetMaxWait(time.Hour)
	writer := postgres.NewStore(pool) // another process, as far as reader can tell
	t.Cleanup(writer.Close)
	ctx := t.Context()

	t.Run("an append through the same store wakes waiters at once", func(t *testing.T) {
		ch := reader.WakeChan()
		if _, err := reader.Append(ctx, "card-K-1", domain.AnyVersion, eventstoretest.NewRecord(1)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		default:
			t.Fatal("the append returned without waking waiters")
		}
	})

	// The first wait starts the listener and returns once it listens.
	if err := reader.WaitForAppend(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("an append through another store wakes waiters by NOTIFY", func(t *testing.T) {
		ch := reader.WakeChan()
		if _, err := writer.Append(ctx, "card-K-2", domain.AnyVersion, eventstoretest.NewRecord(2)); err != nil {
			t.Fatal(err)
		}
		woken(t, ch, "append through another store")
	})

	t.Run("the listener reconnects after its connection is killed", func(t *testing.T) {
		listenerPID := func() int32 {
			var pid int32
			err := pool.QueryRow(ctx, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity
				WHERE datname = current_database() AND query = 'LISTEN kaiku_events'`).Scan(&pid)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		old := listenerPID()
		if old == 0 {
			t.Fatal("no listener connection found")
		}
		if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, old); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for pid := listenerPID(); pid == 0 || pid == old; pid = listenerPID() {
			if time.Now().After(deadline) {
				t.Fatal("the listener did not reconnect")
			}
			time.Sleep(5 * time.Millisecond)
		}
		// A wake-up from the reconnect itself may still be on its way;
		// wait for the NOTIFY of an append made after it.
		time.Sleep(50 * time.Millisecond)
		ch := reader.WakeChan()
		if _, err := writer.Append(ctx, "card-K-3", domain.AnyVersion, eventstoretest.NewRecord(3)); err != nil {
			t.Fatal(err)
		}
		woken(t, ch, "append after the reconnect")
	})

	t.Run("a wait ends with its context", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := reader.WaitForAppend(wctx); err != context.Canceled {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}
