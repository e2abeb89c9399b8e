package httpapi

import (
	"context"
	"net/http"

	"github.com/kaiku/kaiku/domain"
)

// CorrelationHeader carries the correlation id in and out.
const CorrelationHeader = "X-Correlation-ID"

// RequestIDHeader carries the id of this one request out.
const RequestIDHeader = "X-Request-ID"

type correlationKey struct{}

type requestIDKey struct{}

// Correlate gives every request a correlation id, the caller's
// X-Correlation-ID (a UUID) or a new one when absent, and a fresh request
// id; it echoes both as response headers. A correlation id that is not a
// UUID is refused with 400 invalid_correlation_id, since events store it as
// one. MetadataFrom puts them into the events a command raises.
//
//	r.Use(httpapi.Correlate)
func Correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := domain.NewEventID()
		w.Header().Set(RequestIDHeader, string(reqID))
		ctx := context.WithValue(r.Context(), requestIDKey{}, reqID)
		corr := domain.NewEventID()
		if h := r.Header.Get(CorrelationHeader); h != "" {
			id, err := domain.ParseEventID(h)
			if err != nil {
				WriteError(w, r.WithContext(ctx), domain.Invalidf("invalid_correlation_id", CorrelationHeader, "%s must be a UUID", CorrelationHeader))
				return
			}
			corr = id
		}
		w.Header().Set(CorrelationHeader, string(corr))
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, correlationKey{}, corr)))
	})
}

// CorrelationIDFrom returns the request's correlation id, or "" outside
// Correlate.
func CorrelationIDFrom(ctx context.Context) domain.EventID {
	id, _ := ctx.Value(correlationKey{}).(domain.EventID)
	return id
}

// RequestIDFrom returns the request's own id, or "" outside Correlate.
func RequestIDFrom(ctx context.Context) domain.EventID {
	id, _ := ctx.Value(requestIDKey{}).(domain.EventID)
	return id
}

// MetadataFrom returns the metadata for the events r's command raises: the
// authenticated principal, the correlation id and, as causation id, the
// request's id. OccurredAt is left zero: the route sets it from the
// command's business date (its "on" field), and Encode uses now when zero.
func MetadataFrom(r *http.Request) domain.Metadata {
	p, _ := PrincipalFrom(r.Context())
	return domain.Metadata{
		Principal:     p,
		CorrelationID: CorrelationIDFrom(r.Context()),
		CausationID:   RequestIDFrom(r.Context()),
	}
}
