// Package httpapi serves Kaiku's HTTP API (v1, JSON) with chi.
//
// The pieces, one per file: a Server (New, Handler, Serve with graceful
// shutdown) built from a table of Routes, each naming the roles that may
// call it; bearer-token authentication (Authenticate, PrincipalFrom) and
// scope checks (Authorize); one mapping from errors to RFC 9457
// problem+json (WriteError); a strict JSON decoder (Decode) and a guard that
// refuses cardholders' personal data on card routes; Idempotency-Key
// handling backed by PostgreSQL; correlation ids, Prometheus metrics, an
// access log and panic recovery; /healthz, /readyz, /metrics and an
// OpenAPI 3.1 document generated from the route table.
//
// Middleware order, outermost first: Correlate, Metrics, AccessLog,
// Recover, LimitBody; then per route: Authenticate, the role gate,
// Idempotent (POST/PUT/PATCH), handler.
// The personal-data guard runs before idempotency so that a refused body
// never reaches storage, not even as a hash.
package httpapi
