package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
)

// EpochRaise is one raise of the log's epoch (a row of kaiku_epochs): the
// number of transaction ids added to every transaction id before it
// becomes a position went from OldOffset to NewOffset, because the log's
// highest position, LogHead, was at or above the position of the cluster's
// next transaction id. ClusterXmin is the oldest transaction id that was
// still running then; every transaction from it on appends above LogHead.
type EpochRaise struct {
	At          time.Time
	OldOffset   int64
	NewOffset   int64
	LogHead     domain.Position
	ClusterXmin int64
}

// epochAheadSQL is true when the log holds a position at or above the first
// one of the cluster's next transaction id. That never happens while the log
// stays in the cluster that wrote it (every stored event's transaction id
// is below the next one); it does once the log is restored into a cluster
// whose transaction ids are lower.
const epochAheadSQL = `SELECT coalesce((SELECT max(position) FROM events), -1)
	>= kaiku_xid_position(pg_snapshot_xmax(pg_current_snapshot()))`

// raiseEpoch raises the log's epoch (kaiku_xid_epoch, migration 0009) when
// the log is ahead of the cluster's transaction ids, and returns the raise,
// or nil when the log was not ahead (the usual case: one cheap query). It
// locks the events table against appends (reads go on) while it raises,
// so no append in flight can land below the log's head, and picks the
// offset that puts the oldest transaction still running just above it:
// appends then continue above every restored position, readers' and the
// chainer's fences move past the restored log, and stored positions,
// checkpoints and the hash chain stay valid as they are. Migrate calls it
// (`kaiku migrate`, and `kaiku serve` at start): after restoring a dump
// into another cluster, run it before anything appends.
func raiseEpoch(ctx context.Context, conn *pgxpool.Conn) (*EpochRaise, error) {
	var ahead bool
	if err := conn.QueryRow(ctx, epochAheadSQL).Scan(&ahead); err != nil {
		return nil, fmt.Errorf("raise epoch: compare the log with the cluster's transaction ids: %w", err)
	}
	if !ahead {
		return nil, nil
	}
	var r *EpochRaise
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE events IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		// A statement after the lock: its snapshot sees every append that
		// committed before the lock was granted, and no other can start.
		var e EpochRaise
		err := tx.QueryRow(ctx, `SELECT coalesce((SELECT max(position) FROM events), 0),
				pg_snapshot_xmin(pg_current_snapshot())::text::bigint, kaiku_xid_epoch(), now()`).
			Scan(&e.LogHead, &e.ClusterXmin, &e.OldOffset, &e.At)
		if err != nil {
			return err
		}
		e.NewOffset = int64(e.LogHead)>>20 + 1 - e.ClusterXmin
		if e.NewOffset <= e.OldOffset {
			return nil // another migrator raised it meanwhile
		}
		// The offset is the constant body of the function, so that it is
		// inlined into the store's statements; redefining it invalidates
		// every plan that inlined the old one.
		if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE OR REPLACE FUNCTION kaiku_xid_epoch() RETURNS bigint
			LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT %d::bigint $$`, e.NewOffset)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kaiku_epochs (set_at, old_offset, new_offset, log_head, cluster_xmin)
			VALUES ($1, $2, $3, $4, $5)`, e.At, e.OldOffset, e.NewOffset, int64(e.LogHead), e.ClusterXmin); err != nil {
			return err
		}
		r = &e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("raise epoch: %w", err)
	}
	return r, nil
}

// Epoch returns the log's current epoch offset (0 unless a restore raised
// it) and its raises, oldest first.
func Epoch(ctx context.Context, q Querier) (int64, []EpochRaise, error) {
	var off int64
	if err := q.QueryRow(ctx, `SELECT kaiku_xid_epoch()`).Scan(&off); err != nil {
		return 0, nil, fmt.Errorf("read the log's epoch: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT set_at, old_offset, new_offset, log_head, cluster_xmin FROM kaiku_epochs ORDER BY set_at, new_offset`)
	if err != nil {
		return 0, nil, fmt.Errorf("read the log's epochs: %w", err)
	}
	raises, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (EpochRaise, error) {
		var e EpochRaise
		err := row.Scan(&e.At, &e.OldOffset, &e.NewOffset, &e.LogHead, &e.ClusterXmin)
		return e, err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("read the log's epochs: %w", err)
	}
	return off, raises, nil
}
