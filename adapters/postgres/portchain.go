package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// PortChainer is the Chainer for a log kept outside PostgreSQL (KurrentDB,
// adapters/eventstoredb): it reads the log through the domain.EventStore
// port (ReadAll pages) instead of SQL on the events table, and writes the
// chain (event_chain) and the seals (seals) in the PostgreSQL that holds
// the read models, row for row as Chainer does, so Verify's rules and
// audit.Verifier judge both alike (VerifyPort).
//
// It relies on the port's reader guarantee instead of the SQL fence:
// ReadAll returns a record only once no earlier position can still appear,
// so chaining from the last chained position never skips an event that
// commits late. Positions need only increase; they need not be PostgreSQL's.
// Erased personal data is stood in for by its kept digest
// (personal_digests, keyed by the store's positions), as Chainer does.
//
// It takes the same advisory lock per page and per seal as Chainer, so one
// chainer at a time extends the chain, whichever kind it is.
type PortChainer struct {
	pool  *pgxpool.Pool
	store domain.EventStore
	cfg   ChainerConfig
	// sealer writes seals: sealing reads only event_chain and seals, which
	// are the same for both chainers.
	sealer *Chainer
}

// NewPortChainer returns a PortChainer over the log in store, keeping the
// chain and seals in pool.
func NewPortChainer(pool *pgxpool.Pool, store domain.EventStore, cfg ChainerConfig) *PortChainer {
	cfg = cfg.withDefaults()
	return &PortChainer{pool: pool, store: store, cfg: cfg, sealer: NewChainer(pool, cfg)}
}

// Chain chains every event ReadAll returns after the last chained one, a
// page per transaction, until ReadAll returns nothing more, and returns how
// many it chained. It returns ErrChainerBusy (having chained nothing more)
// when another chainer holds the lock, an error when the store returns
// records out of order, and store and database errors wrapped; pages chained
// before an error stay chained.
func (c *PortChainer) Chain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := c.chainPage(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (c *PortChainer) chainPage(ctx context.Context) (int, error) {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := lockChain(ctx, tx); err != nil {
		return 0, err
	}
	var last audit.Link
	err = tx.QueryRow(ctx, `SELECT position, hash FROM event_chain ORDER BY position DESC LIMIT 1`).
		Scan(&last.Position, &last.Hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("chain: read last link: %w", err)
	}
	records, err := c.store.ReadAll(ctx, last.Position, c.cfg.PageSize)
	if err != nil {
		return 0, fmt.Errorf("chain: read events after %d: %w", last.Position, err)
	}
	if len(records) == 0 {
		return 0, nil
	}
	if err := checkOrder(last.Position, records); err != nil {
		return 0, fmt.Errorf("chain: %w", err)
	}
	kept, err := keptDigests(ctx, tx, last.Position, records[len(records)-1].Position)
	if err != nil {
		return 0, fmt.Errorf("chain: %w", err)
	}
	out := make([][]any, 0, len(records))
	for _, r := range records {
		e := entryOfRecord(r, kept)
		h := audit.Hash(last, e)
		out = append(out, []any{int64(e.Position), h, int64(last.Position), string(e.ID)})
		last = audit.Link{Position: e.Position, Hash: h}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_chain"},
		[]string{"position", "hash", "prev_position", "event_id"}, pgx.CopyFromRows(out)); err != nil {
		return 0, fmt.Errorf("chain: write %d chain rows: %w", len(out), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("chain: commit: %w", err)
	}
	return len(out), nil
}

// checkOrder returns an error unless records' positions increase strictly
// from above after, as the port promises.
func checkOrder(after domain.Position, records []domain.Record) error {
	for _, r := range records {
		if r.Position <= after {
			return fmt.Errorf("the store returned position %d after position %d: the log is not in order", r.Position, after)
		}
		after = r.Position
	}
	return nil
}

// keptDigests returns the kept digests of erased personal data at
// positions in (after, through], by position.
func keptDigests(ctx context.Context, q Querier, after, through domain.Position) (map[domain.Position][]byte, error) {
	rows, err := q.Query(ctx, `SELECT position, digest FROM personal_digests
		WHERE position > $1 AND position <= $2`, int64(after), int64(through))
	if err != nil {
		return nil, fmt.Errorf("read kept personal digests: %w", err)
	}
	defer rows.Close()
	var kept map[domain.Position][]byte
	for rows.Next() {
		var (
			p int64
			d []byte
		)
		if err := rows.Scan(&p, &d); err != nil {
			return nil, fmt.Errorf("read kept personal digests: %w", err)
		}
		if kept == nil {
			kept = make(map[domain.Position][]byte)
		}
		kept[domain.Position(p)] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read kept personal digests: %w", err)
	}
	return kept, nil
}

// entryOfRecord is audit.EntryOf with scanEntry's rule for erased personal
// data: a kept digest stands in only where the record has no personal bytes.
func entryOfRecord(r domain.Record, kept map[domain.Position][]byte) audit.Entry {
	e := audit.EntryOf(r)
	if d, ok := kept[r.Position]; ok && len(r.Personal) == 0 {
		e.PersonalDigest = d
	}
	return e
}

// Seal writes a seal over every chained event not yet sealed, exactly as
// Chainer.Seal does (the seals cover event_chain, whichever chainer wrote
// it), and returns it, or nil when nothing is waiting to be sealed. It
// returns ErrChainerBusy when another chainer holds the lock, and database
// errors wrapped.
func (c *PortChainer) Seal(ctx context.Context) (*audit.Seal, error) {
	return c.sealer.Seal(ctx)
}

// Run chains and seals until ctx ends, then returns nil, as Chainer.Run
// does: every interval it chains what ReadAll returns, page by page,
// sealing whenever SealEvery events were chained since the last seal and at
// least every SealInterval. Errors are logged and retried at the next tick;
// while another chainer holds the lock this one waits its turn.
func (c *PortChainer) Run(ctx context.Context, interval time.Duration) error {
	// A store may return short pages before its end: only an empty one
	// means the chain caught up.
	return runChain(ctx, c.cfg, interval, c.chainPage, c.Seal, func(n int) bool { return n == 0 })
}

// VerifyPort is Verify for a log kept outside PostgreSQL: it reads the
// events through store.ReadAll and the chain rows, seals and kept personal
// digests from pool, and feeds them to the same audit.Verifier, so for the
// same log and chain it reports what Verify reports.
//
// The chain and seals come from one consistent snapshot of pool (a
// read-only repeatable-read transaction), taken before the first event is
// read: every event chained in that snapshot was already readable, and
// events appended or chained since count as the unchained tail. Memory stays
// constant whatever the log's length (seals are read up front).
//
// Problems found are not errors: the Report's FirstBad names the first bad
// position and why. VerifyPort returns an error only when it could not read
// the database or the store, or when the store returned records out of
// order.
func VerifyPort(ctx context.Context, pool *pgxpool.Pool, store domain.EventStore, key []byte) (audit.Report, error) {
	return verify(ctx, pool, key, func(ctx context.Context, tx pgx.Tx, after domain.Position) ([]audit.Entry, error) {
		return readPortEntries(ctx, tx, store, after)
	})
}

// readPortEntries reads up to verifyPage events after after through the
// port, fewer only at the end of the log (a store may return short pages
// before it, so it reads on until a page comes back empty), with kept
// digests standing in for erased personal data.
func readPortEntries(ctx context.Context, tx pgx.Tx, store domain.EventStore, after domain.Position) ([]audit.Entry, error) {
	var records []domain.Record
	from := after
	for len(records) < verifyPage {
		page, err := store.ReadAll(ctx, from, verifyPage-len(records))
		if err != nil {
			return nil, fmt.Errorf("read events after %d: %w", from, err)
		}
		if len(page) == 0 {
			break
		}
		if err := checkOrder(from, page); err != nil {
			return nil, err
		}
		records = append(records, page...)
		from = page[len(page)-1].Position
	}
	if len(records) == 0 {
		return nil, nil
	}
	kept, err := keptDigests(ctx, tx, after, from)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Entry, len(records))
	for i, r := range records {
		out[i] = entryOfRecord(r, kept)
	}
	return out, nil
}
