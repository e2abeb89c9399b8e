package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// verifyPage is how many events, and how many chain rows, Verify reads per
// query.
const verifyPage = 10000

// Verify checks the log's tamper evidence: it recomputes the hash chain
// over every event, compares it with event_chain and checks every seal
// (keyed seals against key; with key nil their HMAC is left unchecked and
// counted in Report.UncheckedSeals). It reads one consistent snapshot (a
// read-only repeatable-read transaction, which holds back no appender or
// chainer) by keyset pages on position, merging events with chain rows as it
// goes, so memory stays constant whatever the log's length (seals, one per
// sealing interval, are read up front).
//
// Problems found are not errors: the returned Report's FirstBad names the
// first bad position and why, and the unchained or unsealed tail is merely
// counted. Verify returns an error only when it could not read the database.
func Verify(ctx context.Context, pool *pgxpool.Pool, key []byte) (audit.Report, error) {
	return verify(ctx, pool, key, readEntries)
}

// verify checks the chain and seals in pool against the events that
// readEvents returns page by page in position order (from the events table,
// or through a store's port), inside one read-only repeatable-read
// snapshot of pool.
func verify(ctx context.Context, pool *pgxpool.Pool, key []byte,
	readEvents func(ctx context.Context, tx pgx.Tx, after domain.Position) ([]audit.Entry, error)) (audit.Report, error) {
	var report audit.Report
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if err := streamInOrder(ctx, tx); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			rows, err := tx.Query(ctx, `SELECT `+sealColumns+` ORDER BY seq`)
			if err != nil {
				return fmt.Errorf("verify: read seals: %w", err)
			}
			seals, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Seal, error) { return scanSeal(r) })
			if err != nil {
				return fmt.Errorf("verify: read seals: %w", err)
			}
			v := audit.NewVerifier(key, seals)
			events := pager[audit.Entry]{fetch: func(after domain.Position) ([]audit.Entry, error) {
				return readEvents(ctx, tx, after)
			}, pos: func(e audit.Entry) domain.Position { return e.Position }}
			chain := pager[audit.ChainRow]{fetch: func(after domain.Position) ([]audit.ChainRow, error) {
				return readChain(ctx, tx, after)
			}, pos: func(c audit.ChainRow) domain.Position { return c.Position }}
			for {
				e, err := events.head()
				if err != nil {
					return fmt.Errorf("verify: read events: %w", err)
				}
				c, err := chain.head()
				if err != nil {
					return fmt.Errorf("verify: read chain: %w", err)
				}
				var row audit.Row
				switch {
				case e == nil && c == nil:
					report = v.Report()
					return nil
				case c == nil || (e != nil && e.Position < c.Position):
					row.Event = events.take()
				case e == nil || c.Position < e.Position:
					row.Chain = chain.take()
				default:
					row.Event, row.Chain = events.take(), chain.take()
				}
				if !v.Add(row) {
					report = v.Report()
					return nil
				}
			}
		})
	return report, err
}

// pager walks one ordered table by keyset pages.
type pager[T any] struct {
	buf   []T
	i     int
	after domain.Position
	done  bool
	fetch func(after domain.Position) ([]T, error)
	pos   func(T) domain.Position
}

// head returns the next item without consuming it, or nil at the end.
func (p *pager[T]) head() (*T, error) {
	if p.i == len(p.buf) && !p.done {
		buf, err := p.fetch(p.after)
		if err != nil {
			return nil, err
		}
		p.buf, p.i = buf, 0
		p.done = len(buf) < verifyPage
		if len(buf) > 0 {
			p.after = p.pos(buf[len(buf)-1])
		}
	}
	if p.i == len(p.buf) {
		return nil, nil
	}
	return &p.buf[p.i], nil
}

func (p *pager[T]) take() *T {
	p.i++
	return &p.buf[p.i-1]
}

func readEntries(ctx context.Context, tx pgx.Tx, after domain.Position) ([]audit.Entry, error) {
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` WHERE e.position > $1 ORDER BY e.position LIMIT $2`, after, verifyPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) { return scanEntry(r) })
}

func readChain(ctx context.Context, tx pgx.Tx, after domain.Position) ([]audit.ChainRow, error) {
	rows, err := tx.Query(ctx, `SELECT position, prev_position, event_id::text, hash, format FROM event_chain
		WHERE position > $1 ORDER BY position LIMIT $2`, after, verifyPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.ChainRow, error) {
		var c audit.ChainRow
		err := r.Scan(&c.Position, &c.PrevPosition, &c.EventID, &c.Hash, &c.Format)
		return c, err
	})
}
