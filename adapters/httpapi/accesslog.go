package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// AccessLog logs every request at debug level with its method, path, route
// pattern, status, size, duration, correlation id and principal. Failures
// are logged at error level by WriteError, not here.
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
		next.ServeHTTP(ww, r)
		p, _ := PrincipalFrom(r.Context())
		slog.DebugContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
			"route", routePattern(r), "status", ww.Status(), "bytes", ww.BytesWritten(),
			"duration", time.Since(start), "correlationId", CorrelationIDFrom(r.Context()), "principal", p.String())
	})
}
