package natsbus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kaiku/kaiku/adapters/logbus"
	"github.com/kaiku/kaiku/domain"
)

// LockClass is the first key of the two-key PostgreSQL advisory locks
// Kaiku's scale-out takes: (LockClass, hashtext(stream)) elects the
// forwarder; cmd/kaiku's projectors use LockClass+1 and LockClass+2.
const LockClass int32 = 4715001

// ForwarderConfig configures a Forwarder. Store, Pool and Conn are
// required.
type ForwarderConfig struct {
	Bus   Config
	Store domain.EventStore
	// Pool holds natsbus_forwarder (migration 0007) and the lock.
	Pool *pgxpool.Pool
	Conn *nats.Conn
	// PageSize is how many records one page reads and publishes before
	// the acks are awaited and the checkpoint saved. Default 2000.
	PageSize int
	// PollInterval is the wait for new records when the store is no
	// domain.AppendNotifier, and the longest wait when it is. Default 200ms.
	PollInterval time.Duration
	// Standby is how often a forwarder without the lock tries again.
	// Default 2s.
	Standby time.Duration
	Logger  watermill.LoggerAdapter
}

// Forwarder copies the log into the JetStream stream, in order, without
// loss and without duplicates.
type Forwarder struct {
	cfg       ForwarderConfig
	js        jetstream.JetStream
	position  atomic.Int64
	forwarded atomic.Int64
	active    atomic.Bool
}

// NewForwarder returns a Forwarder, or an error for a missing field or an
// invalid Bus config.
func NewForwarder(cfg ForwarderConfig) (*Forwarder, error) {
	cfg.Bus.setDefaults()
	if err := cfg.Bus.Validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.Store == nil:
		return nil, errors.New("natsbus: ForwarderConfig.Store is required")
	case cfg.Pool == nil:
		return nil, errors.New("natsbus: ForwarderConfig.Pool is required")
	case cfg.Conn == nil:
		return nil, errors.New("natsbus: ForwarderConfig.Conn is required")
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 2000
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.Standby <= 0 {
		cfg.Standby = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = watermill.NopLogger{}
	}
	js, err := jetstream.New(cfg.Conn, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	return &Forwarder{cfg: cfg, js: js}, nil
}

// Position is the position of the last record JetStream acknowledged and
// the forwarder's checkpoint saved (or found in the stream at start).
func (f *Forwarder) Position() domain.Position { return domain.Position(f.position.Load()) }

// Forwarded counts the records this forwarder published and saw acked.
func (f *Forwarder) Forwarded() int64 { return f.forwarded.Load() }

// Active tells whether this forwarder holds the lock and forwards.
func (f *Forwarder) Active() bool { return f.active.Load() }

// Run forwards until ctx ends and returns nil then. Only the process that
// holds the advisory lock of the stream forwards; the others stand by and
// take over when its session ends. Errors (NATS or PostgreSQL down, a
// refused publish) are logged and the forwarder starts over from the end
// of the stream, which is always a prefix of the log.
func (f *Forwarder) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := f.lead(ctx)
		f.active.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		wait := f.cfg.Standby
		if err != nil {
			f.cfg.Logger.Error("NATS forwarder failed, starting over", err, watermill.LogFields{"backoff": backoff})
			wait, backoff = backoff, min(2*backoff, 30*time.Second)
		} else {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return nil
}

// lead takes the lock and forwards while it holds it; it returns nil when
// another process holds the lock.
func (f *Forwarder) lead(ctx context.Context) error {
	conn, err := f.cfg.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("natsbus: forwarder lock: %w", err)
	}
	// A session lock lives as long as the connection: drop it with the
	// lock instead of handing a locked session back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	var got bool
	if err := pc.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, LockClass, f.cfg.Bus.Stream).Scan(&got); err != nil {
		return fmt.Errorf("natsbus: forwarder lock: %w", err)
	}
	if !got {
		return nil
	}
	f.active.Store(true)
	f.cfg.Logger.Info("NATS forwarder is active", watermill.LogFields{"stream": f.cfg.Bus.Stream})

	st, err := ensureStream(ctx, f.js, f.cfg.Bus)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("natsbus: stream info: %w", err)
	}
	seq := info.State.LastSeq
	var pos domain.Position
	if info.State.Msgs > 0 {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("natsbus: last message of %s: %w", f.cfg.Bus.Stream, err)
		}
		if pos, err = headerPosition(m.Header, seq); err != nil {
			return err
		}
	}
	var saved int64
	if err := pc.QueryRow(ctx, `SELECT coalesce((SELECT position FROM natsbus_forwarder WHERE stream = $1), 0)`, f.cfg.Bus.Stream).Scan(&saved); err != nil {
		return fmt.Errorf("natsbus: read forwarder checkpoint: %w", err)
	}
	if domain.Position(saved) > pos {
		f.cfg.Logger.Info("The stream ends before the forwarder's checkpoint (it was recreated or purged): forwarding again from its end",
			watermill.LogFields{"stream": f.cfg.Bus.Stream, "checkpoint": saved, "stream_end": pos})
	}
	f.position.Store(int64(pos))
	notifier, _ := f.cfg.Store.(domain.AppendNotifier)
	for {
		recs, err := f.cfg.Store.ReadAll(ctx, pos, f.cfg.PageSize)
		if err != nil {
			return fmt.Errorf("natsbus: read the log after %d: %w", pos, err)
		}
		if len(recs) == 0 {
			// Still ours? A lost session means another forwarder may run;
			// the expected-sequence check keeps the stream whole anyway.
			if _, err := pc.Exec(ctx, `SELECT 1`); err != nil {
				return fmt.Errorf("natsbus: forwarder lock session: %w", err)
			}
			wctx, cancel := context.WithTimeout(ctx, f.cfg.PollInterval)
			if notifier != nil {
				_ = notifier.WaitForAppend(wctx)
			} else {
				<-wctx.Done()
			}
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if seq, err = f.publish(ctx, recs, seq); err != nil {
			return err
		}
		pos = recs[len(recs)-1].Position
		if _, err := pc.Exec(ctx, `INSERT INTO natsbus_forwarder (stream, position) VALUES ($1, $2)
			ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`, f.cfg.Bus.Stream, int64(pos)); err != nil {
			return fmt.Errorf("natsbus: save forwarder checkpoint: %w", err)
		}
		// Counted once the checkpoint is saved, so that Position is never
		// ahead of what a restart would read back.
		f.position.Store(int64(pos))
		f.forwarded.Add(int64(len(recs)))
	}
}

// publish publishes recs pipelined, each expecting the stream's last
// sequence to be the one before it, and waits for every ack. It returns
// the stream's last sequence afterwards.
func (f *Forwarder) publish(ctx context.Context, recs []domain.Record, seq uint64) (uint64, error) {
	var m wmnats.NATSMarshaler
	futures := make([]jetstream.PubAckFuture, 0, len(recs))
	for _, rec := range recs {
		msg, err := m.Marshal(f.cfg.Bus.subject(rec.Stream), logbus.RecordToMessage(rec))
		if err != nil {
			return 0, fmt.Errorf("natsbus: marshal record %d: %w", rec.Position, err)
		}
		fut, err := f.js.PublishMsgAsync(msg, jetstream.WithMsgID(string(rec.ID)), jetstream.WithExpectLastSequence(seq))
		if err != nil {
			return 0, fmt.Errorf("natsbus: publish record %d: %w", rec.Position, err)
		}
		futures = append(futures, fut)
		seq++
	}
	for i, fut := range futures {
		select {
		case ack := <-fut.Ok():
			if ack.Duplicate {
				// Another forwarder got there first (a lost lock): start over.
				return 0, fmt.Errorf("natsbus: record %d was already in the stream", recs[i].Position)
			}
		case err := <-fut.Err():
			return 0, fmt.Errorf("natsbus: publish record %d: %w", recs[i].Position, err)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return seq, nil
}
