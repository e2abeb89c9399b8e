package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// IdempotencyHeader is the request header naming a retry-safe request.
const IdempotencyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer replayed from the idempotency store.
const ReplayedHeader = "Idempotent-Replayed"

// IdempotencyStore keeps the first answer to each keyed request;
// postgres.Idempotency implements it.
type IdempotencyStore interface {
	Begin(ctx context.Context, req postgres.IdempotentRequest) (claim string, stored *postgres.StoredResponse, err error)
	Complete(ctx context.Context, req postgres.IdempotentRequest, claim string, resp postgres.StoredResponse) error
	Release(ctx context.Context, req postgres.IdempotentRequest, claim string) error
}

// DefaultIdempotencyWait is how long a retry waits for the first request
// with its key to finish before it is answered 409 idempotency_in_progress.
const DefaultIdempotencyWait = 10 * time.Second

// maxStoredBody is the largest answer kept for replay (command answers are
// a few hundred bytes). A larger one is not kept: its key is released.
const maxStoredBody = 1 << 20

// Idempotent makes POST, PUT and PATCH requests that carry an
// Idempotency-Key header safe to retry. Keys are per principal. The first
// request with a key runs and its answer (status, Content-Type, Location,
// body) is stored; a retry with the same method, path and body gets that
// answer again, marked Idempotent-Replayed: true, and the handler does not
// run. A retry that arrives while the first still runs waits for it (up to
// wait; 0 means DefaultIdempotencyWait) and then gets its answer, or 409
// idempotency_in_progress if it is still running. The same key with a
// different request is 422 idempotency_key_reused. A 5xx answer or a panic
// is not stored: the key is released, so a retry runs again. The store
// keeps a hash of the key and the path without its query, for its
// retention (48 hours unless configured; postgres.WithRetention), and
// logs name a key by the first bytes of its hash (KeyRef). Requests
// without the header, and other methods, pass straight through.
//
//	r.With(auth, httpapi.Idempotent(store, 0)).Post("/v1/cards", issue)
func Idempotent(store IdempotencyStore, wait time.Duration) func(http.Handler) http.Handler {
	if wait <= 0 {
		wait = DefaultIdempotencyWait
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get(IdempotencyHeader)
			if key == "" || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch) {
				next.ServeHTTP(w, r)
				return
			}
			if len(key) > 255 || !printable(key) {
				WriteError(w, r, domain.Invalidf("invalid_idempotency_key", IdempotencyHeader, "must be 1 to 255 printable ASCII characters"))
				return
			}
			var body []byte
			if r.Body != nil {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					WriteError(w, r, err)
					return
				}
				body = b
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			p, _ := PrincipalFrom(r.Context())
			h := sha256.New()
			h.Write([]byte(r.Method + "\x00" + r.URL.RequestURI() + "\x00"))
			h.Write(body)
			// The query is in the hash, not in the stored path: the store
			// keeps nothing a client typed (postgres.IdempotentRequest).
			req := postgres.IdempotentRequest{Principal: p.String(), Key: key, Method: r.Method, Path: r.URL.Path, Hash: h.Sum(nil)}

			claim, stored, err := begin(r.Context(), store, req, wait)
			if err != nil {
				WriteError(w, r, err)
				return
			}
			if stored != nil {
				replay(w, *stored)
				return
			}
			run(w, r, next, store, req, claim)
		})
	}
}

// begin claims the key or finds its answer, polling while the first
// request with the key runs.
func begin(ctx context.Context, store IdempotencyStore, req postgres.IdempotentRequest, wait time.Duration) (string, *postgres.StoredResponse, error) {
	deadline := time.Now().Add(wait)
	pause := 10 * time.Millisecond
	for {
		claim, stored, err := store.Begin(ctx, req)
		if !errors.Is(err, postgres.ErrIdempotencyInProgress) || time.Now().Add(pause).After(deadline) {
			return claim, stored, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

func replay(w http.ResponseWriter, s postgres.StoredResponse) {
	if s.ContentType != "" {
		w.Header().Set("Content-Type", s.ContentType)
	}
	if s.Location != "" {
		w.Header().Set("Location", s.Location)
	}
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(s.Status)
	_, _ = w.Write(s.Body)
}

// run serves the claimed request, recording its answer for replay.
func run(w http.ResponseWriter, r *http.Request, next http.Handler, store IdempotencyStore, req postgres.IdempotentRequest, claim string) {
	rec := &recorder{ResponseWriter: w}
	// The answer is stored even if the client has gone: a retry must find it.
	ctx := context.WithoutCancel(r.Context())
	defer func() {
		if v := recover(); v != nil {
			if err := store.Release(ctx, req, claim); err != nil {
				slog.ErrorContext(ctx, "idempotency: release after panic", "key", req.KeyRef(), "err", err)
			}
			panic(v)
		}
	}()
	next.ServeHTTP(rec, r)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 || rec.overflow {
		if err := store.Release(ctx, req, claim); err != nil {
			slog.ErrorContext(ctx, "idempotency: release", "key", req.KeyRef(), "err", err)
		}
		return
	}
	resp := postgres.StoredResponse{Status: status, ContentType: w.Header().Get("Content-Type"),
		Location: w.Header().Get("Location"), Body: rec.body.Bytes()}
	if err := store.Complete(ctx, req, claim, resp); err != nil {
		slog.ErrorContext(ctx, "idempotency: store answer", "key", req.KeyRef(), "err", err)
	}
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > maxStoredBody {
		r.overflow = true
	} else {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
