package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

const (
	// IdempotencyRetention is how long a stored answer is kept unless
	// WithRetention says otherwise: retries within it get the first
	// answer. After it the key may be reused and Purge deletes the row.
	// Clients are promised at least 24 hours.
	IdempotencyRetention = 48 * time.Hour
	// MinIdempotencyRetention is the shortest retention WithRetention
	// takes: the 24 hours clients are promised.
	MinIdempotencyRetention = 24 * time.Hour
	// IdempotencyLease is how long an unfinished claim blocks its key. A
	// claim older than this belongs to a process that died mid-request, and
	// the next request with the key takes it over. It must exceed the
	// longest request the HTTP server lets run.
	IdempotencyLease = 2 * time.Minute
)

var (
	// ErrIdempotencyInProgress is returned by Begin while the first request
	// with the key is still running.
	ErrIdempotencyInProgress = errors.New("a request with this idempotency key is still in progress")
	// ErrIdempotencyKeyReused is returned by Begin when the key was first
	// used for a different method, path or body.
	ErrIdempotencyKeyReused = errors.New("this idempotency key was used for a different request")
)

// IdempotentRequest identifies one request sent with an Idempotency-Key.
// Keys are per principal: two callers never see each other's answers.
// The store keeps only the SHA-256 of Key, and Path must not carry a
// query string (Begin refuses one), so that nothing a client typed is
// kept.
type IdempotentRequest struct {
	Principal string // domain.Principal.String()
	Key       string
	Method    string
	Path      string // the URL path, without the query
	Hash      []byte // digest of method, path, query and body; same request, same hash
}

// keyHash is what the table keeps of the key.
func (r IdempotentRequest) keyHash() []byte {
	h := sha256.Sum256([]byte(r.Key))
	return h[:]
}

// KeyRef names the key in errors and logs: the first bytes of its hash,
// never the key.
func (r IdempotentRequest) KeyRef() string { return hex.EncodeToString(r.keyHash()[:6]) }

// StoredResponse is the first answer to a keyed request.
type StoredResponse struct {
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// Idempotency stores the first answer to each keyed request.
type Idempotency struct {
	db        Querier
	retention time.Duration
}

// IdempotencyOption configures NewIdempotency.
type IdempotencyOption func(*Idempotency)

// WithRetention keeps answers for d (IdempotencyRetention by default;
// at least MinIdempotencyRetention, which a shorter d is raised to).
func WithRetention(d time.Duration) IdempotencyOption {
	return func(s *Idempotency) { s.retention = max(d, MinIdempotencyRetention) }
}

// NewIdempotency returns the idempotency store over db (a pool).
func NewIdempotency(db Querier, opts ...IdempotencyOption) *Idempotency {
	s := &Idempotency{db: db, retention: IdempotencyRetention}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Retention returns how long answers are kept.
func (s *Idempotency) Retention() time.Duration { return s.retention }

// Begin claims req's key for a first execution, or finds its answer.
//
//   - The key is new (or its row expired, or its claim's lease ran out):
//     Begin returns a claim token and a nil response. The caller runs the
//     request and then calls Complete (or Release, to let a retry run it).
//   - The key's first request finished with the same method, path and hash:
//     Begin returns its stored response and no token.
//   - It is still running: ErrIdempotencyInProgress.
//   - It was a different request: ErrIdempotencyKeyReused.
//
// Concurrent Begins for one key give the claim to exactly one of them.
func (s *Idempotency) Begin(ctx context.Context, req IdempotentRequest) (claim string, stored *StoredResponse, err error) {
	if strings.ContainsRune(req.Path, '?') {
		return "", nil, fmt.Errorf("idempotency key %s: the path must not carry a query string", req.KeyRef())
	}
	token := string(domain.NewEventID())
	for range 3 {
		err := s.db.QueryRow(ctx, `
			INSERT INTO idempotency_keys (principal, key_hash, method, path, request_hash, claim)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (principal, key_hash) DO UPDATE SET
				method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
				claim = EXCLUDED.claim, claimed_at = now(), status = NULL, content_type = NULL,
				location = NULL, body = NULL, created_at = now(), completed_at = NULL
			WHERE (idempotency_keys.status IS NULL AND idempotency_keys.claimed_at < now() - $7 * interval '1 microsecond')
			   OR idempotency_keys.created_at < now() - $8 * interval '1 microsecond'
			RETURNING claim::text`,
			req.Principal, req.keyHash(), req.Method, req.Path, req.Hash, token,
			IdempotencyLease.Microseconds(), s.retention.Microseconds()).Scan(&claim)
		if err == nil {
			return claim, nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return "", nil, fmt.Errorf("idempotency key %s: claim: %w", req.KeyRef(), err)
		}
		var (
			method, path string
			hash         []byte
			status       *int
			ctype, loc   *string
			body         []byte
		)
		err = s.db.QueryRow(ctx, `SELECT method, path, request_hash, status, content_type, location, body
			FROM idempotency_keys WHERE principal = $1 AND key_hash = $2`, req.Principal, req.keyHash()).
			Scan(&method, &path, &hash, &status, &ctype, &loc, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between the two statements: try to claim again
		}
		if err != nil {
			return "", nil, fmt.Errorf("idempotency key %s: read: %w", req.KeyRef(), err)
		}
		if method != req.Method || path != req.Path || !bytes.Equal(hash, req.Hash) {
			return "", nil, ErrIdempotencyKeyReused
		}
		if status == nil {
			return "", nil, ErrIdempotencyInProgress
		}
		r := &StoredResponse{Status: *status, Body: body}
		if ctype != nil {
			r.ContentType = *ctype
		}
		if loc != nil {
			r.Location = *loc
		}
		return "", r, nil
	}
	return "", nil, ErrIdempotencyInProgress
}

// Complete stores resp as the answer to req under claim. It returns an
// error when the claim was lost (its lease ran out and another request took
// the key over); the answer is then not stored.
func (s *Idempotency) Complete(ctx context.Context, req IdempotentRequest, claim string, resp StoredResponse) error {
	tag, err := s.db.Exec(ctx, `UPDATE idempotency_keys
		SET status = $4, content_type = $5, location = $6, body = $7, completed_at = now()
		WHERE principal = $1 AND key_hash = $2 AND claim = $3 AND status IS NULL`,
		req.Principal, req.keyHash(), claim, resp.Status, resp.ContentType, resp.Location, resp.Body)
	if err != nil {
		return fmt.Errorf("idempotency key %s: store answer: %w", req.KeyRef(), err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("idempotency key %s: store answer: the claim was lost", req.KeyRef())
	}
	return nil
}

// Release gives up claim on req's key without an answer (the request failed
// in a way a retry may fix), so that the next request with it runs afresh.
func (s *Idempotency) Release(ctx context.Context, req IdempotentRequest, claim string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key_hash = $2 AND claim = $3 AND status IS NULL`,
		req.Principal, req.keyHash(), claim); err != nil {
		return fmt.Errorf("idempotency key %s: release: %w", req.KeyRef(), err)
	}
	return nil
}

// Purge deletes answers created before before and returns how many; it
// never removes a claim whose lease is still running. RunPurger calls it
// with the store's retention.
func (s *Idempotency) Purge(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1
		AND (status IS NOT NULL OR claimed_at < now() - $2 * interval '1 microsecond')`,
		before, IdempotencyLease.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RunPurger deletes the answers older than the store's retention at once
// and then every interval (an hour when 0), until ctx ends; it returns
// nil then. A failed purge is logged to log (when not nil) and tried again
// at the next tick: a row kept a little longer harms no one.
//
//	go idem.RunPurger(ctx, time.Hour, logger)
func (s *Idempotency) RunPurger(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Purge(ctx, time.Now().Add(-s.retention)); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("purging old idempotency keys failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
