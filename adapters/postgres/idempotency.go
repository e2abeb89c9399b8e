package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

const (
	// IdempotencyRetention is how long a stored answer is kept: retries
	// within it get the first answer. After it the key may be reused and
	// Purge may delete the row. Clients are promised at least 24 hours.
	IdempotencyRetention = 48 * time.Hour
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
type IdempotentRequest struct {
	Principal string // domain.Principal.String()
	Key       string
	Method    string
	Path      string
	Hash      []byte // digest of method, path and body; same request, same hash
}

// StoredResponse is the first answer to a keyed request.
type StoredResponse struct {
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// Idempotency stores the first answer to each keyed request.
type Idempotency struct {
	db Querier
}

// NewIdempotency returns the idempotency store over db (a pool).
func NewIdempotency(db Querier) *Idempotency { return &Idempotency{db: db} }

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
	token := string(domain.NewEventID())
	for range 3 {
		err := s.db.QueryRow(ctx, `
			INSERT INTO idempotency_keys (principal, key, method, path, request_hash, claim)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (principal, key) DO UPDATE SET
				method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
				claim = EXCLUDED.claim, claimed_at = now(), status = NULL, content_type = NULL,
				location = NULL, body = NULL, created_at = now(), completed_at = NULL
			WHERE (idempotency_keys.status IS NULL AND idempotency_keys.claimed_at < now() - $7 * interval '1 microsecond')
			   OR idempotency_keys.created_at < now() - $8 * interval '1 microsecond'
			RETURNING claim::text`,
			req.Principal, req.Key, req.Method, req.Path, req.Hash, token,
			IdempotencyLease.Microseconds(), IdempotencyRetention.Microseconds()).Scan(&claim)
		if err == nil {
			return claim, nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return "", nil, fmt.Errorf("idempotency key %q: claim: %w", req.Key, err)
		}
		var (
			method, path string
			hash         []byte
			status       *int
			ctype, loc   *string
			body         []byte
		)
		err = s.db.QueryRow(ctx, `SELECT method, path, request_hash, status, content_type, location, body
			FROM idempotency_keys WHERE principal = $1 AND key = $2`, req.Principal, req.Key).
			Scan(&method, &path, &hash, &status, &ctype, &loc, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between the two statements: try to claim again
		}
		if err != nil {
			return "", nil, fmt.Errorf("idempotency key %q: read: %w", req.Key, err)
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
		WHERE principal = $1 AND key = $2 AND claim = $3 AND status IS NULL`,
		req.Principal, req.Key, claim, resp.Status, resp.ContentType, resp.Location, resp.Body)
	if err != nil {
		return fmt.Errorf("idempotency key %q: store answer: %w", req.Key, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("idempotency key %q: store answer: the claim was lost", req.Key)
	}
	return nil
}

// Release gives up claim on req's key without an answer (the request failed
// in a way a retry may fix), so that the next request with it runs afresh.
func (s *Idempotency) Release(ctx context.Context, req IdempotentRequest, claim string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND claim = $3 AND status IS NULL`,
		req.Principal, req.Key, claim); err != nil {
		return fmt.Errorf("idempotency key %q: release: %w", req.Key, err)
	}
	return nil
}

// Purge deletes answers created before before and returns how many. Run it
// now and then with time.Now().Add(-IdempotencyRetention); it never removes
// a claim whose lease is still running.
func (s *Idempotency) Purge(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1
		AND (status IS NOT NULL OR claimed_at < now() - $2 * interval '1 microsecond')`,
		before, IdempotencyLease.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
