package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

// KeyPrefix starts every API key, so a leaked key is recognisable (secret
// scanners, logs) and cannot be mistaken for another credential.
const KeyPrefix = "kaiku_"

// keySecretBytes is the entropy of a key's secret part: 256 bits.
const keySecretBytes = 32

// APIKey is one stored API key, without its secret.
type APIKey struct {
	ID        string
	Principal domain.Principal // KeyID is set to ID
	Label     string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is valid
}

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// APIKeys stores the API keys callers authenticate with. A key reads
// "kaiku_<id>_<secret>": the id is public (it is logged with every event
// as Principal.KeyID), the secret is 32 random bytes in hex. Only the
// SHA-256 of the whole key is stored. A fast hash is the right choice for
// such keys, unlike for passwords: with 256 bits of randomness there is no
// dictionary to try and brute force is out of reach whatever the hash
// costs, while a slow KDF (bcrypt, argon2) would add milliseconds of CPU to
// every request.
type APIKeys struct {
	db Querier
}

// NewAPIKeys returns the API key store over db (a pool).
func NewAPIKeys(db Querier) *APIKeys { return &APIKeys{db: db} }

// ValidateScope checks that p is a role an API key may carry with exactly
// the scope that role needs: a coordinator a locality, an issuer or a venue
// a partner, national and auditor neither. It returns a *domain.Invalid
// (code "invalid_role" or "invalid_scope") otherwise. The system role is
// Kaiku itself and never gets a key.
func ValidateScope(p domain.Principal) error {
	switch p.Role {
	case domain.RoleCoordinator:
		if p.Locality == "" || p.Partner != "" {
			return domain.Invalidf("invalid_scope", "locality", "a coordinator key needs a locality and no partner")
		}
	case domain.RoleIssuer, domain.RoleVenue:
		if p.Partner == "" || p.Locality != "" {
			return domain.Invalidf("invalid_scope", "partner", "an %s key needs a partner and no locality", p.Role)
		}
	case domain.RoleNational, domain.RoleAuditor:
		if p.Locality != "" || p.Partner != "" {
			return domain.Invalidf("invalid_scope", "role", "a %s key takes no locality or partner", p.Role)
		}
	default:
		return domain.Invalidf("invalid_role", "role", "role %q is not one of national, coordinator, issuer, venue, auditor", p.Role)
	}
	return nil
}

// Create makes a new key for principal p (its KeyID is ignored) and returns
// the key, to be shown once and never again, and its public id. It returns a
// *domain.Invalid when p's role and scope do not fit (see ValidateScope).
func (s *APIKeys) Create(ctx context.Context, p domain.Principal, label string) (key string, id string, err error) {
	if err := ValidateScope(p); err != nil {
		return "", "", err
	}
	var idb [6]byte
	var secret [keySecretBytes]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", fmt.Errorf("create api key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", fmt.Errorf("create api key: %w", err)
	}
	id = "k_" + hex.EncodeToString(idb[:])
	key = KeyPrefix + id + "_" + hex.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(key))
	_, err = s.db.Exec(ctx, `INSERT INTO api_keys (id, hash, role, locality, partner, label) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, sum[:], string(p.Role), p.Locality, p.Partner, label)
	if err != nil {
		return "", "", fmt.Errorf("create api key: %w", err)
	}
	return key, id, nil
}

// ErrKeyRejected is returned (wrapped) by Authenticate for a key that is
// malformed, unknown or revoked. It wraps domain.ErrNotFound too, so that
// callers need not import this package to recognise it.
var ErrKeyRejected = fmt.Errorf("api key unknown, malformed or revoked: %w", domain.ErrNotFound)

// dummyHash is compared against when a key's id is unknown, so that an
// unknown id costs the same as a wrong secret.
var dummyHash = sha256.Sum256([]byte("kaiku: no such key"))

// Authenticate returns the principal of key, with KeyID set. It returns
// ErrKeyRejected when the key is malformed, unknown or revoked; any other
// error is the database's. The secret is compared in constant time.
func (s *APIKeys) Authenticate(ctx context.Context, key string) (domain.Principal, error) {
	id, ok := keyID(key)
	if !ok {
		return domain.Principal{}, ErrKeyRejected
	}
	var (
		stored             []byte
		role, loc, partner string
		revoked            *time.Time
	)
	err := s.db.QueryRow(ctx, `SELECT hash, role, locality, partner, revoked_at FROM api_keys WHERE id = $1`, id).
		Scan(&stored, &role, &loc, &partner, &revoked)
	sum := sha256.Sum256([]byte(key))
	if errors.Is(err, pgx.ErrNoRows) {
		subtle.ConstantTimeCompare(sum[:], dummyHash[:])
		return domain.Principal{}, ErrKeyRejected
	}
	if err != nil {
		return domain.Principal{}, fmt.Errorf("authenticate api key: %w", err)
	}
	if subtle.ConstantTimeCompare(sum[:], stored) != 1 || revoked != nil {
		return domain.Principal{}, ErrKeyRejected
	}
	return domain.Principal{Role: domain.Role(role), Locality: loc, Partner: partner, KeyID: id}, nil
}

// keyID extracts the public id from "kaiku_<id>_<64 hex>".
func keyID(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return "", false
	}
	secret := rest[i+1:]
	if len(secret) != 2*keySecretBytes {
		return "", false
	}
	if _, err := hex.DecodeString(secret); err != nil {
		return "", false
	}
	return rest[:i], true
}

// Revoke revokes the key with id. Authenticate refuses it from then on
// (callers that cache authentications, like the HTTP API, within their
// cache's lifetime). Revoking a revoked key again is not an error; an
// unknown id returns an error wrapping domain.ErrNotFound.
func (s *APIKeys) Revoke(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("api key %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

// List returns every key, revoked ones included, oldest first.
func (s *APIKeys) List(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.Query(ctx, `SELECT id, role, locality, partner, label, created_at, revoked_at
		FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (APIKey, error) {
		var (
			k       APIKey
			role    string
			revoked *time.Time
		)
		if err := row.Scan(&k.ID, &role, &k.Principal.Locality, &k.Principal.Partner, &k.Label, &k.CreatedAt, &revoked); err != nil {
			return APIKey{}, err
		}
		k.Principal.Role = domain.Role(role)
		k.Principal.KeyID = k.ID
		if revoked != nil {
			k.RevokedAt = *revoked
		}
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}
