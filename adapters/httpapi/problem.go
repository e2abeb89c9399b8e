package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// ProblemTypeBase prefixes a problem's code to form its type URI.
const ProblemTypeBase = "https://kaiku.fi/problems/"

// RetryAfterSeconds is the Retry-After a 503 answers with.
const RetryAfterSeconds = "5"

// Problem is an RFC 9457 problem detail with Kaiku's machine-readable code.
type Problem struct {
	Type          string       `json:"type"`
	Title         string       `json:"title"`
	Status        int          `json:"status"`
	Detail        string       `json:"detail,omitempty"`
	Code          string       `json:"code"`
	Field         string       `json:"field,omitempty"`
	Errors        []FieldError `json:"errors,omitempty"`
	Instance      string       `json:"instance,omitempty"`
	CorrelationID string       `json:"correlationId,omitempty"`
}

// FieldError is one bad input field when a request has several.
type FieldError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Errors the HTTP layer raises itself; ProblemFor maps them.
var (
	// errUnauthenticated: no, a malformed, an unknown or a revoked key.
	errUnauthenticated = errors.New("a valid API key is required: send Authorization: Bearer <key>")
	errNoRoute         = errors.New("no such route")
	errMethod          = errors.New("method not allowed on this route")
)

func problem(status int, code, title, detail string) Problem {
	return Problem{Type: ProblemTypeBase + code, Title: title, Status: status, Code: code, Detail: detail}
}

// ProblemFor maps err to its problem and status. This is the one place
// where error kinds become HTTP answers:
//
//	*domain.Invalid (one or joined)  400 with its code (and errors[] if several)
//	JSON syntax / truncated body     400 malformed_json
//	unknown field                    400 unknown_field
//	wrong JSON type                  400 wrong_type
//	unauthenticated                  401 unauthenticated
//	*domain.Forbidden                403 forbidden
//	domain.ErrNotFound               404 not_found
//	domain.ErrConflict               409 version_conflict
//	idempotency in progress          409 idempotency_in_progress
//	*http.MaxBytesError              413 body_too_large
//	a body not application/json      415 unsupported_media_type
//	*domain.Violation                422 with its code
//	idempotency key reused           422 idempotency_key_reused
//	PostgreSQL unreachable           503 unavailable, Retry-After (postgres.Unavailable)
//	anything else                    500 internal (detail withheld)
func ProblemFor(err error) Problem {
	var (
		invalid   *domain.Invalid
		violation *domain.Violation
		forbidden *domain.Forbidden
		syntax    *json.SyntaxError
		typ       *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return problem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large",
			"the request body exceeds the limit of "+itoa(tooLarge.Limit)+" bytes")
	case errors.As(err, &invalid):
		all := invalids(err)
		p := problem(http.StatusBadRequest, invalid.Code, "Invalid request", invalid.Error())
		p.Field = invalid.Field
		if len(all) > 1 {
			for _, in := range all {
				p.Errors = append(p.Errors, FieldError{Field: in.Field, Code: in.Code, Message: in.Message})
			}
			p.Detail = err.Error()
		}
		return p
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errEmptyBody):
		return problem(http.StatusBadRequest, "malformed_json", "Malformed JSON", "the request body is not valid JSON: "+err.Error())
	case errors.As(err, &typ):
		p := problem(http.StatusBadRequest, "wrong_type", "Wrong JSON type",
			"field "+typ.Field+" must be "+typ.Type.String()+", not "+typ.Value)
		p.Field = typ.Field
		return p
	case isUnknownField(err):
		p := problem(http.StatusBadRequest, "unknown_field", "Unknown field", "the request has a field this route does not take: "+unknownField(err))
		p.Field = unknownField(err)
		return p
	case errors.Is(err, errUnauthenticated):
		return problem(http.StatusUnauthorized, "unauthenticated", "Unauthenticated", err.Error())
	case errors.As(err, &forbidden):
		return problem(http.StatusForbidden, "forbidden", "Forbidden", forbidden.Message)
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, errNoRoute):
		return problem(http.StatusNotFound, "not_found", "Not found", err.Error())
	case errors.Is(err, errMethod):
		return problem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", err.Error())
	case errors.Is(err, domain.ErrConflict):
		return problem(http.StatusConflict, "version_conflict", "Version conflict",
			"the record changed since it was read; reload it and decide again")
	case errors.Is(err, postgres.ErrIdempotencyInProgress):
		return problem(http.StatusConflict, "idempotency_in_progress", "Request in progress",
			"the first request with this Idempotency-Key is still running; retry shortly")
	case errors.Is(err, postgres.ErrIdempotencyKeyReused):
		return problem(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency key reused",
			"this Idempotency-Key was first sent with a different request; use a new key for a new request")
	case errors.As(err, &violation):
		p := problem(http.StatusUnprocessableEntity, violation.Code, "Rule violated", violation.Message)
		p.Field = violation.Field
		return p
	case errors.Is(err, errUnsupportedMediaType):
		return problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type", err.Error())
	case postgres.Unavailable(err):
		return problem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"the database cannot be reached right now; retry after "+RetryAfterSeconds+" seconds (with the same Idempotency-Key a command is never applied twice)")
	}
	return problem(http.StatusInternalServerError, "internal", "Internal error",
		"something went wrong on our side; quote the correlation id when reporting it")
}

// WriteError answers r with the problem for err (see ProblemFor). 5xx
// problems are logged at error level with the underlying error; nothing
// else is logged here, since 4xx are the caller's to fix.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(err)
	p.Instance = instance(r)
	p.CorrelationID = string(CorrelationIDFrom(r.Context()))
	if p.Status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"status", p.Status, "correlationId", p.CorrelationID, "err", err)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kaiku"`)
	}
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	writeProblem(w, p)
}

// instance names the route a problem happened on by its pattern
// ("/v1/cards/{id}/renewal"), never the raw path, which may hold what the
// door refused (an identity code typed as a card number).
func instance(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		return rc.RoutePattern()
	}
	if domain.CheckText("", r.URL.Path, 2048) != nil {
		return ""
	}
	return r.URL.Path
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// invalids collects every *domain.Invalid in err's tree (errors.Join).
func invalids(err error) []*domain.Invalid {
	var out []*domain.Invalid
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if in, ok := e.(*domain.Invalid); ok {
			out = append(out, in)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// encoding/json reports an unknown field only as text.
const unknownFieldPrefix = "json: unknown field "

func isUnknownField(err error) bool {
	return err != nil && strings.Contains(err.Error(), unknownFieldPrefix)
}

func unknownField(err error) string {
	s := err.Error()
	i := strings.Index(s, unknownFieldPrefix)
	return strings.Trim(s[i+len(unknownFieldPrefix):], `"`)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
