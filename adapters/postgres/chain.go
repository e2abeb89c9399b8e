package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// chainLock is the transaction-level advisory lock key that lets one
// chainer at a time extend the chain or write a seal ("kaikuchn").
const chainLock = 0x6b61696b7563686e

// ErrChainerBusy reports that another chainer (another process or
// goroutine) holds the chain lock; it is doing the work, so the caller can
// simply try again later.
var ErrChainerBusy = errors.New("another chainer is extending the hash chain")

// ChainerConfig tunes a Chainer. Zero fields take the defaults.
type ChainerConfig struct {
	// Key, when not empty, makes seals HMAC-SHA256 under it (KAIKU_SEAL_KEY).
	Key []byte
	// PageSize is how many events one transaction chains (default 5000).
	PageSize int
	// SealEvery seals once this many events were chained since the last
	// seal (default 10000); SealInterval seals whatever is chained and
	// unsealed at least this often (default one minute). Both bound how
	// long a chained event stays unsealed, the window in which someone with
	// write access could rewrite the chain unnoticed.
	SealEvery    int64
	SealInterval time.Duration
	// Logger receives Run's errors, which it retries (default slog.Default()).
	Logger *slog.Logger
}

func (c ChainerConfig) withDefaults() ChainerConfig {
	if c.PageSize <= 0 {
		c.PageSize = 5000
	}
	if c.SealEvery <= 0 {
		c.SealEvery = 10000
	}
	if c.SealInterval <= 0 {
		c.SealInterval = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Chainer extends the hash chain (event_chain) over the log and seals it
// (seals). It works behind the appenders rather than in their way: an
// append only inserts its events and commits, and the Chainer later walks
// the log in position order behind the same fence as readers (positions
// below pg_snapshot_xmin << 20, where no transaction can still commit an
// event), hashing each event onto its predecessor's hash. Chaining inside
// the append would need every append to read its predecessor's hash and so
// to wait for the previous append to commit: all appends would queue behind
// one lock. Here they stay concurrent, and the chain is exactly as
// trustworthy, because an event below the fence can no longer change order.
//
// The cost is a short window in which new events are unchained and
// unsealed; `audit verify` reports that tail and does not count it as a
// problem. Only one chainer works at a time (a transaction-level advisory
// lock per page and per seal), so several `kaiku serve` processes may each
// run one.
type Chainer struct {
	pool *pgxpool.Pool
	cfg  ChainerConfig
}

// NewChainer returns a Chainer over the log in pool.
func NewChainer(pool *pgxpool.Pool, cfg ChainerConfig) *Chainer {
	return &Chainer{pool: pool, cfg: cfg.withDefaults()}
}

// Chain chains every event that is below the reader fence and not yet
// chained, a page per transaction, and returns how many it chained. It
// returns ErrChainerBusy (having chained nothing more) when another chainer
// holds the lock, and database errors wrapped; pages chained before an
// error stay chained.
func (c *Chainer) Chain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := c.chainPage(ctx)
		total += n
		if err != nil || n < c.cfg.PageSize {
			return total, err
		}
	}
}

// entryColumns selects what audit.Entry needs of events e, with the kept
// digest of erased personal data from personal_digests d.
const entryColumns = `e.position, e.event_id::text, e.stream, e.version, e.type, e.schema_version,
	e.occurred_at, e.recorded_at, e.principal, coalesce(e.correlation_id::text, ''),
	coalesce(e.causation_id::text, ''), coalesce(e.personal_subject, ''), e.data, e.personal, d.digest
	FROM events e LEFT JOIN personal_digests d ON d.position = e.position`

// scanEntry reads one row of entryColumns.
func scanEntry(rows pgx.Row) (audit.Entry, error) {
	var (
		e        audit.Entry
		personal []byte
		kept     []byte
	)
	err := rows.Scan(&e.Position, &e.ID, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion,
		&e.OccurredAt, &e.RecordedAt, &e.Principal, &e.CorrelationID, &e.CausationID, &e.Subject,
		&e.Data, &personal, &kept)
	if err != nil {
		return audit.Entry{}, err
	}
	// A kept digest stands in only for erased (NULL) personal data: were it
	// used while bytes are still stored, changing those bytes and keeping
	// the old digest would go unnoticed.
	if personal == nil && kept != nil {
		e.PersonalDigest = kept
	} else {
		e.PersonalDigest = audit.PersonalDigest(personal)
	}
	return e, nil
}

func (c *Chainer) chainPage(ctx context.Context) (int, error) {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := lockChain(ctx, tx); err != nil {
		return 0, err
	}
	if err := streamInOrder(ctx, tx); err != nil {
		return 0, fmt.Errorf("chain: %w", err)
	}
	var last audit.Link
	err = tx.QueryRow(ctx, `SELECT position, hash FROM event_chain ORDER BY position DESC LIMIT 1`).
		Scan(&last.Position, &last.Hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("chain: read last link: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+`
		WHERE e.position > $1
		  AND e.position < `+fenceSQL+`
		ORDER BY e.position LIMIT $2`, last.Position, c.cfg.PageSize)
	if err != nil {
		return 0, fmt.Errorf("chain: read events: %w", err)
	}
	var out [][]any
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("chain: read event: %w", err)
		}
		h := audit.Hash(last, e)
		out = append(out, []any{int64(e.Position), h, int64(last.Position), string(e.ID)})
		last = audit.Link{Position: e.Position, Hash: h}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("chain: read events: %w", err)
	}
	if len(out) == 0 {
		return 0, nil
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

// streamInOrder makes the planner read pages by walking the position
// index instead of sorting. A log just bulk-loaded (an import, a seed) has
// no statistics yet, and the planner then sorts everything after the page
// start for each page: quadratic in the log's length. An ordered index
// scan is always the right plan for these keyset pages.
func streamInOrder(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL enable_sort = off`)
	return err
}

func lockChain(ctx context.Context, tx pgx.Tx) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(chainLock)).Scan(&ok); err != nil {
		return fmt.Errorf("chain: lock: %w", err)
	}
	if !ok {
		return ErrChainerBusy
	}
	return nil
}

// sealColumns selects an audit.Seal from seals.
const sealColumns = `seq, from_position, to_position, event_count, last_hash, prev_seal_hash, keyed, seal_hash, sealed_at FROM seals`

func scanSeal(row pgx.Row) (audit.Seal, error) {
	var s audit.Seal
	err := row.Scan(&s.Seq, &s.From, &s.To, &s.Count, &s.LastHash, &s.PrevHash, &s.Keyed, &s.Hash, &s.SealedAt)
	return s, err
}

// Seal writes a seal over every chained event not yet sealed, chained to
// the previous seal and keyed when the Chainer has a key, and returns it,
// or nil when nothing is waiting to be sealed. It returns ErrChainerBusy
// when another chainer holds the lock, and database errors wrapped. A seal
// vouches for the chain as stored: it does not re-verify the events (that
// is `audit verify`'s job), which is why sealing soon after chaining
// matters.
func (c *Chainer) Seal(ctx context.Context) (*audit.Seal, error) {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := lockChain(ctx, tx); err != nil {
		return nil, err
	}
	var prev *audit.Seal
	switch s, err := scanSeal(tx.QueryRow(ctx, `SELECT `+sealColumns+` ORDER BY seq DESC LIMIT 1`)); {
	case err == nil:
		prev = &s
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("seal: read last seal: %w", err)
	}
	var after domain.Position
	if prev != nil {
		after = prev.To
	}
	var (
		count    int64
		from, to *int64
	)
	if err := tx.QueryRow(ctx, `SELECT count(*), min(position), max(position) FROM event_chain WHERE position > $1`, after).
		Scan(&count, &from, &to); err != nil {
		return nil, fmt.Errorf("seal: count unsealed: %w", err)
	}
	if count == 0 {
		return nil, nil
	}
	var last []byte
	if err := tx.QueryRow(ctx, `SELECT hash FROM event_chain WHERE position = $1`, *to).Scan(&last); err != nil {
		return nil, fmt.Errorf("seal: read last hash: %w", err)
	}
	s := audit.NewSeal(c.cfg.Key, prev, domain.Position(*from), domain.Position(*to), count, last, time.Time{})
	if err := tx.QueryRow(ctx, `INSERT INTO seals
		(seq, from_position, to_position, event_count, last_hash, prev_seal_hash, keyed, seal_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING sealed_at`,
		s.Seq, s.From, s.To, s.Count, s.LastHash, s.PrevHash, s.Keyed, s.Hash).Scan(&s.SealedAt); err != nil {
		return nil, fmt.Errorf("seal: write seal %d: %w", s.Seq, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("seal: commit: %w", err)
	}
	return &s, nil
}

// Run chains and seals until ctx ends, then returns nil. Every interval it
// chains what is below the fence, page by page, sealing whenever SealEvery
// events were chained since the last seal, and at least every SealInterval.
// Errors are logged and retried at the next tick; while another chainer
// holds the lock this one waits its turn.
func (c *Chainer) Run(ctx context.Context, interval time.Duration) error {
	// A short page means the chain reached the fence.
	return runChain(ctx, c.cfg, interval, c.chainPage, c.Seal, func(n int) bool { return n < c.cfg.PageSize })
}

// runChain is the loop of Chainer.Run and PortChainer.Run: every interval
// it chains page after page until caughtUp says so, sealing whenever
// SealEvery events were chained since the last seal and at least every
// SealInterval, logging errors and retrying them at the next tick.
func runChain(ctx context.Context, cfg ChainerConfig, interval time.Duration,
	chainPage func(context.Context) (int, error), seal func(context.Context) (*audit.Seal, error), caughtUp func(n int) bool) error {
	if interval <= 0 {
		interval = time.Second
	}
	var unsealed int64
	lastSeal := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := chainPage(ctx)
			unsealed += int64(n)
			if errors.Is(err, ErrChainerBusy) {
				break
			}
			if err != nil {
				if ctx.Err() == nil {
					cfg.Logger.ErrorContext(ctx, "hash chain: chaining failed; retrying", "err", err)
				}
				break
			}
			if unsealed >= cfg.SealEvery || time.Since(lastSeal) >= cfg.SealInterval {
				if _, err := seal(ctx); err == nil {
					unsealed, lastSeal = 0, time.Now()
				} else if !errors.Is(err, ErrChainerBusy) && ctx.Err() == nil {
					cfg.Logger.ErrorContext(ctx, "hash chain: sealing failed; retrying", "err", err)
				}
			}
			if caughtUp(n) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
