package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts requests by method, route pattern and status
// (kaiku_http_requests_total) and times them by method and route pattern
// (kaiku_http_request_duration_seconds). Patterns, not paths, are the
// label, so card ids never become label values. It registers both with reg
// and panics if they are already registered there (a wiring mistake).
//
//	r.Use(httpapi.Metrics(registry))
func Metrics(reg prometheus.Registerer) func(http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kaiku_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern and status.",
	}, []string{"method", "route", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kaiku_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by method and route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	reg.MustRegister(requests, latency)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				route := routePattern(r)
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK
				}
				requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
				latency.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// routePattern is the chi pattern that matched r, or "unmatched".
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
