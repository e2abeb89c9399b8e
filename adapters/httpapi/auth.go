package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Authenticator resolves an API key to its principal. It returns an error
// wrapping domain.ErrNotFound for a malformed, unknown or revoked key (as
// postgres.APIKeys does); any other error is a failure of its own.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (domain.Principal, error)
}

type principalKey struct{}

// PrincipalFrom returns the authenticated principal of ctx and whether
// there is one (there is none on public routes).
func PrincipalFrom(ctx context.Context) (domain.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(domain.Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p. It also tells the access log
// (AccessLog, further out in the chain) who the request runs as.
func WithPrincipal(ctx context.Context, p domain.Principal) context.Context {
	if s, ok := ctx.Value(accessSlotKey{}).(*accessSlot); ok {
		s.principal = p.String()
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// DefaultAuthCacheTTL is how long a successful key lookup is reused. A
// revoked key therefore stops working within this time, not at once.
const DefaultAuthCacheTTL = 5 * time.Second

// maxCachedKeys bounds the cache; when full it is emptied, not evicted
// piecemeal: there are few keys, and a full cache means an odd load.
const maxCachedKeys = 10_000

// Authenticate requires "Authorization: Bearer <key>" and puts the key's
// principal into the request context (see PrincipalFrom). A missing,
// malformed, unknown or revoked key is answered 401 unauthenticated with a
// WWW-Authenticate header; a failing Authenticator 500. Successful lookups
// are cached for ttl (0 means DefaultAuthCacheTTL, negative disables the
// cache), so revocation takes effect within ttl; failures are never cached.
// Build it once and share it between routes, so they share the cache.
//
//	auth := httpapi.Authenticate(keys, 0)
//	r.With(auth).Get("/v1/compliance", h)
func Authenticate(a Authenticator, ttl time.Duration) func(http.Handler) http.Handler {
	if ttl == 0 {
		ttl = DefaultAuthCacheTTL
	}
	c := &authCache{a: a, ttl: ttl, m: map[[32]byte]cached{}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				WriteError(w, r, errUnauthenticated)
				return
			}
			p, err := c.lookup(r.Context(), key)
			if errors.Is(err, domain.ErrNotFound) {
				WriteError(w, r, errUnauthenticated)
				return
			}
			if err != nil {
				WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

func bearer(h string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}

type cached struct {
	p       domain.Principal
	expires time.Time
}

type authCache struct {
	a   Authenticator
	ttl time.Duration
	mu  sync.Mutex
	m   map[[32]byte]cached // by SHA-256 of the key: no raw keys in memory
}

func (c *authCache) lookup(ctx context.Context, key string) (domain.Principal, error) {
	if c.ttl < 0 {
		return c.a.Authenticate(ctx, key)
	}
	h := sha256.Sum256([]byte(key))
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[h]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, nil
	}
	p, err := c.a.Authenticate(ctx, key)
	if err != nil {
		return domain.Principal{}, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[h] = cached{p: p, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return p, nil
}
