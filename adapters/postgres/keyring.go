package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/personal"
)

// ErrWrongMasterKey reports that the configured master key is not the one
// that wrapped the stored data keys. Nothing is decrypted under it.
var ErrWrongMasterKey = errors.New("wrong master key")

// Keyring keeps the data keys of personal-data subjects (table
// personal_keys, migration 0010), wrapped by the master key, and seals and
// opens personal parts with them. Unwrapped keys are cached in memory;
// Forget drops one (erasure). A Keyring is safe for concurrent use.
type Keyring struct {
	pool   *pgxpool.Pool
	master personal.MasterKey
	fp     []byte

	mu   sync.RWMutex
	keys map[personal.Subject]personal.DataKey
}

// NewKeyring returns a keyring on pool under master. It returns an error
// wrapping ErrWrongMasterKey when stored data keys were wrapped by another
// master key, so that a misconfigured process stops before it serves.
func NewKeyring(ctx context.Context, pool *pgxpool.Pool, master personal.MasterKey) (*Keyring, error) {
	k := &Keyring{pool: pool, master: master, fp: master.Fingerprint(), keys: map[personal.Subject]personal.DataKey{}}
	rows, err := pool.Query(ctx, `SELECT master_fp, count(*) FROM personal_keys
		WHERE wrapped IS NOT NULL GROUP BY master_fp`)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var fp []byte
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&fp, &n}, func() error {
		if !bytes.Equal(fp, k.fp) {
			return fmt.Errorf("%w: the master key given has fingerprint %x, but %d data keys were wrapped by the key with fingerprint %x; give that key (KAIKU_MASTER_KEY or KAIKU_MASTER_KEY_FILE)",
				ErrWrongMasterKey, k.fp, n, fp)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return k, nil
}

// Fingerprint returns the master key's fingerprint (safe to show).
func (k *Keyring) Fingerprint() string { return hex.EncodeToString(k.fp) }

func (k *Keyring) cached(s personal.Subject) (personal.DataKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	d, ok := k.keys[s]
	return d, ok
}

func (k *Keyring) remember(s personal.Subject, d personal.DataKey) {
	k.mu.Lock()
	k.keys[s] = d
	k.mu.Unlock()
}

// Forget drops subject's key from the cache (its row is erased).
func (k *Keyring) Forget(s personal.Subject) {
	k.mu.Lock()
	delete(k.keys, s)
	k.mu.Unlock()
}

// keyFor returns subject's data key, creating and storing it (by q) when
// the subject has none yet. It returns personal.ErrErased for an erased
// subject and an error wrapping ErrWrongMasterKey when the stored key does
// not unwrap.
func (k *Keyring) keyFor(ctx context.Context, q Querier, s personal.Subject) (personal.DataKey, error) {
	if d, ok := k.cached(s); ok {
		return d, nil
	}
	fresh := personal.NewDataKey()
	var wrapped, fp []byte
	err := q.QueryRow(ctx, `WITH ins AS (
			INSERT INTO personal_keys (subject, wrapped, master_fp) VALUES ($1, $2, $3)
			ON CONFLICT (subject) DO NOTHING RETURNING wrapped, master_fp)
		SELECT wrapped, master_fp FROM ins
		UNION ALL SELECT wrapped, master_fp FROM personal_keys WHERE subject = $1 AND NOT EXISTS (SELECT FROM ins)`,
		string(s), k.master.Wrap(s, fresh), k.fp).Scan(&wrapped, &fp)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent append created the key after this statement's
		// snapshot: the insert waited for it and did nothing. Read it anew.
		err = q.QueryRow(ctx, `SELECT wrapped, master_fp FROM personal_keys WHERE subject = $1`, string(s)).Scan(&wrapped, &fp)
	}
	if err != nil {
		return personal.DataKey{}, fmt.Errorf("data key of %s: %w", s, err)
	}
	return k.unwrap(s, wrapped, fp)
}

func (k *Keyring) unwrap(s personal.Subject, wrapped, fp []byte) (personal.DataKey, error) {
	if wrapped == nil {
		return personal.DataKey{}, fmt.Errorf("subject %s: %w", s, personal.ErrErased)
	}
	if !bytes.Equal(fp, k.fp) {
		return personal.DataKey{}, fmt.Errorf("data key of %s: %w: wrapped by the master key with fingerprint %x, not %x", s, ErrWrongMasterKey, fp, k.fp)
	}
	d, err := k.master.Unwrap(s, wrapped)
	if err != nil {
		return d, fmt.Errorf("%w: %w", ErrWrongMasterKey, err)
	}
	k.remember(s, d)
	return d, nil
}

// seal returns a sealed copy of a plain personal part of subject, as the
// JSON string the events table's personal column takes (migration 0010
// moves it to personal_sealed).
func (k *Keyring) seal(ctx context.Context, q Querier, subject string, plain json.RawMessage) (json.RawMessage, error) {
	if subject == "" {
		return nil, errors.New("seal personal part: it has no subject, so it could never be erased")
	}
	s := personal.Subject(subject)
	d, err := k.keyFor(ctx, q, s)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(`"` + d.Seal(s, plain) + `"`), nil
}

// sealedText returns the sealed text of a personal column value that holds
// a sealed part (a JSON string), or "" for a plain part.
func sealedText(p json.RawMessage) string {
	if len(p) < 2 || p[0] != '"' {
		return ""
	}
	t := string(p[1 : len(p)-1])
	if !personal.IsSealed(t) {
		return ""
	}
	return t
}

// open replaces every sealed personal part in recs by its plain text, in
// place. A part whose subject was erased (the key is gone) becomes nil, as
// erasure leaves it. Keys not cached are read in one query by q.
func (k *Keyring) open(ctx context.Context, q Querier, recs []domain.Record) error {
	var missing []string
	for i := range recs {
		if sealedText(recs[i].Personal) == "" {
			continue
		}
		if _, ok := k.cached(personal.Subject(recs[i].Subject)); !ok {
			missing = append(missing, recs[i].Subject)
		}
	}
	erased := map[personal.Subject]bool{}
	if len(missing) > 0 {
		rows, err := q.Query(ctx, `SELECT subject, wrapped, master_fp FROM personal_keys WHERE subject = ANY($1)`, missing)
		if err != nil {
			return fmt.Errorf("read data keys: %w", err)
		}
		var s string
		var wrapped, fp []byte
		_, err = pgx.ForEachRow(rows, []any{&s, &wrapped, &fp}, func() error {
			if wrapped == nil {
				erased[personal.Subject(s)] = true
				return nil
			}
			_, err := k.unwrap(personal.Subject(s), wrapped, fp)
			return err
		})
		if err != nil {
			return fmt.Errorf("read data keys: %w", err)
		}
	}
	for i := range recs {
		r := &recs[i]
		t := sealedText(r.Personal)
		if t == "" {
			continue
		}
		s := personal.Subject(r.Subject)
		d, ok := k.cached(s)
		switch {
		case erased[s]:
			r.Personal = nil // erased while this read ran
			continue
		case !ok:
			return fmt.Errorf("event at %d: personal part of %s is sealed but the subject has no data key", r.Position, s)
		}
		plain, err := d.Open(s, t)
		if err != nil {
			return fmt.Errorf("event at %d: %w", r.Position, err)
		}
		r.Personal = plain
	}
	return nil
}

// ErrSealed reports that the log holds sealed personal parts and the
// store was given no keyring to open them.
var ErrSealed = errors.New("the log holds sealed personal data and no master key was given")

// hasSealed reports whether any of recs holds a sealed part.
func hasSealed(recs []domain.Record) bool {
	for i := range recs {
		if sealedText(recs[i].Personal) != "" {
			return true
		}
	}
	return false
}

// Rotate re-wraps every live data key under next, in one transaction,
// and returns how many it re-wrapped. The sealed data is not touched. After
// it, processes must start with next: the old key no longer opens
// anything, and NewKeyring under it fails with ErrWrongMasterKey. It
// returns an error wrapping ErrWrongMasterKey, and changes nothing, when a
// stored key does not unwrap under k's master key.
func (k *Keyring) Rotate(ctx context.Context, next personal.MasterKey) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT subject, wrapped, master_fp FROM personal_keys
			WHERE wrapped IS NOT NULL ORDER BY subject FOR UPDATE`)
		if err != nil {
			return err
		}
		type row struct {
			s           personal.Subject
			wrapped, fp []byte
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.s, &x.wrapped, &x.fp)
		})
		if err != nil {
			return err
		}
		for _, x := range all {
			d, err := k.unwrap(x.s, x.wrapped, x.fp)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE personal_keys SET wrapped = $2, master_fp = $3 WHERE subject = $1`,
				string(x.s), next.Wrap(x.s, d), next.Fingerprint()); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rotate master key: %w", err)
	}
	return n, nil
}
