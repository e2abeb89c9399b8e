package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

// Session is a signed-in browser of the web app: the principal of the API
// key it was opened with, its CSRF token and when it ends unless used.
type Session struct {
	Principal domain.Principal // KeyID set
	CSRF      string
	ExpiresAt time.Time
}

// ErrNoSession is returned (wrapped) for a token that is malformed,
// unknown, expired, signed out, or whose API key was revoked. It wraps
// domain.ErrNotFound.
var ErrNoSession = fmt.Errorf("no such session, or it has ended: %w", domain.ErrNotFound)

// Sessions keeps web app sessions in PostgreSQL (web_sessions). A session
// token is 32 random bytes (base64url) shown only to the browser; only its
// SHA-256 is stored. A session ends Idle after its last use, at the
// latest Max after it was opened, when signed out, or at once when its API
// key is revoked.
type Sessions struct {
	db        Querier
	idle, max time.Duration
}

// NewSessions returns the session store over db; idle and max bound a
// session's life (0 means 30 minutes and 12 hours).
func NewSessions(db Querier, idle, max time.Duration) *Sessions {
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	if max <= 0 {
		max = 12 * time.Hour
	}
	return &Sessions{db: db, idle: idle, max: max}
}

// Open opens a session for p, an authenticated API key's principal (its
// KeyID is required), and returns its token and the session.
func (s *Sessions) Open(ctx context.Context, p domain.Principal) (string, Session, error) {
	if p.KeyID == "" {
		return "", Session{}, errors.New("open session: the principal has no API key")
	}
	token, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	sum := sha256.Sum256([]byte(token))
	var exp time.Time
	err = s.db.QueryRow(ctx, `INSERT INTO web_sessions (token_hash, key_id, csrf, expires_at, ends_at)
		VALUES ($1, $2, $3, now() + $4::interval, now() + $5::interval) RETURNING expires_at`,
		sum[:], p.KeyID, csrf, s.idle, s.max).Scan(&exp)
	if err != nil {
		return "", Session{}, fmt.Errorf("open session: %w", err)
	}
	return token, Session{Principal: p, CSRF: csrf, ExpiresAt: exp}, nil
}

// Get returns the live session of token and moves its expiry forward
// (never past its absolute end). It returns ErrNoSession when there is none.
func (s *Sessions) Get(ctx context.Context, token string) (Session, error) {
	if len(token) != tokenLen {
		return Session{}, ErrNoSession
	}
	sum := sha256.Sum256([]byte(token))
	var (
		ses                Session
		role, loc, partner string
	)
	err := s.db.QueryRow(ctx, `UPDATE web_sessions w SET expires_at = least(now() + $2::interval, w.ends_at)
		FROM api_keys k
		WHERE w.token_hash = $1 AND k.id = w.key_id AND k.revoked_at IS NULL AND w.expires_at > now()
		RETURNING w.csrf, w.expires_at, k.id, k.role, k.locality, k.partner`, sum[:], s.idle).
		Scan(&ses.CSRF, &ses.ExpiresAt, &ses.Principal.KeyID, &role, &loc, &partner)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	ses.Principal.Role, ses.Principal.Locality, ses.Principal.Partner = domain.Role(role), loc, partner
	return ses, nil
}

// Close ends the session of token (sign-out). Closing an unknown or ended
// session is not an error.
func (s *Sessions) Close(ctx context.Context, token string) error {
	sum := sha256.Sum256([]byte(token))
	if _, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, sum[:]); err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	return nil
}

// Purge deletes the sessions that have ended and returns how many.
func (s *Sessions) Purge(ctx context.Context) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RunPurger purges ended sessions every interval (0 means an hour) until
// ctx ends, logging failures and retrying at the next tick.
func (s *Sessions) RunPurger(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("purging ended web sessions failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tokenLen is the length of a token: 32 bytes in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(32)

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
