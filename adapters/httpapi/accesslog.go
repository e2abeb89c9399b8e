package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// AccessLog logs every request at debug level with its method, path, route
// pattern, status, size, duration, correlation id and principal. The
// principal is logged as Principal.String: role, scope and the API key's
// public id ("issuer@espoo-sos-1#k_3f2a"), never the key; it is "" when
// the request was not authenticated. The query string is not logged: it
// may carry what a caller typed. Failures are logged at error level by
// WriteError, not here.
//
//	r.Use(httpapi.AccessLog)
func AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slog.Default().Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		slot := &accessSlot{}
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), accessSlotKey{}, slot)))
		slog.DebugContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
			"route", routePattern(r), "status", ww.Status(), "bytes", ww.BytesWritten(),
			"duration", time.Since(start), "correlationId", CorrelationIDFrom(r.Context()), "principal", slot.principal)
	})
}

// accessSlot is where the authentication further in the chain (through
// WithPrincipal) leaves the principal for AccessLog, which only sees the
// request as it came in.
type accessSlot struct{ principal string }

type accessSlotKey struct{}
