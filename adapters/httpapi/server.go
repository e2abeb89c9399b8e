package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what a Server needs. Keys is required; the rest has defaults.
type Config struct {
	// Keys authenticates bearer tokens (postgres.APIKeys).
	Keys Authenticator
	// Idempotency stores answers to keyed requests (postgres.Idempotency).
	// Nil disables Idempotency-Key handling (tests, read-only servers).
	Idempotency IdempotencyStore
	// Routes are the API's endpoints; /healthz, /readyz, /metrics and
	// /openapi.json are added by New.
	Routes []Route
	// Ready are the /readyz checks (PingReady, MigrationsReady, projections).
	Ready []Check
	// Metrics is the registry the HTTP metrics go to and /metrics serves.
	// Nil: a new registry with the Go and process collectors.
	Metrics *prometheus.Registry
	// MoreMetrics, when set, is gathered into /metrics too (the projection
	// runner's registry, which is replaced whenever the runner restarts).
	MoreMetrics prometheus.Gatherer
	// AuthCacheTTL: see Authenticate. 0 means DefaultAuthCacheTTL.
	AuthCacheTTL time.Duration
	// MaxBodyBytes caps request bodies; 0 means 64 KiB.
	MaxBodyBytes int64
	// IdempotencyWait: see Idempotent. 0 means DefaultIdempotencyWait.
	IdempotencyWait time.Duration
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after its context ends; 0 means 15 seconds.
	ShutdownTimeout time.Duration
	// Version is the API version in the OpenAPI document; "" means "1".
	Version string
	// App, when set, answers the paths outside /v1/ that no route has
	// (the web app at /, see adapters/webapp).
	App http.Handler
}

// Validate reports a missing dependency or a mistake in the route table
// (a route with neither roles nor Public, a duplicate method and pattern,
// a route over a built-in one).
func (c Config) Validate() error {
	if c.Keys == nil {
		return errors.New("httpapi: Config.Keys is required")
	}
	seen := map[string]bool{}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		seen[http.MethodGet+" "+p] = true // built in
	}
	for _, rt := range c.Routes {
		if err := rt.validate(); err != nil {
			return fmt.Errorf("httpapi: %w", err)
		}
		k := rt.Method + " " + rt.Pattern
		if seen[k] {
			return fmt.Errorf("httpapi: route %s registered twice", k)
		}
		seen[k] = true
	}
	return nil
}

func (c *Config) defaults() {
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
		c.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.Version == "" {
		c.Version = "1"
	}
}

// Server is Kaiku's HTTP API.
type Server struct {
	cfg     Config
	routes  []Route
	handler http.Handler
	openapi []byte
}

// New builds the server from cfg. It panics when cfg.Validate fails: a bad
// route table is a programming error, found by the first test that builds
// the server.
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg.defaults()
	s := &Server{cfg: cfg}
	s.routes = append([]Route{
		{Method: http.MethodGet, Pattern: "/healthz", Public: true, Summary: "The process is up.", Response: Health{}, Handler: healthz},
		{Method: http.MethodGet, Pattern: "/readyz", Public: true, Summary: "Every dependency is ready (PostgreSQL, migrations, projections).", Response: Health{}, Handler: readyz(cfg.Ready)},
		{Method: http.MethodGet, Pattern: "/metrics", Public: true, Summary: "Prometheus metrics.", Handler: wrapHandler(promhttp.HandlerFor(gatherers(cfg), promhttp.HandlerOpts{}))},
		{Method: http.MethodGet, Pattern: "/openapi.json", Public: true, Summary: "This API's OpenAPI 3.1 document.", Handler: s.serveOpenAPI},
	}, cfg.Routes...)
	doc, err := OpenAPI(s.routes, cfg.Version)
	if err != nil {
		panic(fmt.Errorf("httpapi: openapi: %w", err))
	}
	s.openapi = doc

	r := chi.NewRouter()
	// Recover sits inside Correlate and Metrics, so a panic's 500 is
	// counted and logged with its correlation id.
	r.Use(Correlate, Metrics(cfg.Metrics), AccessLog, Recover)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if cfg.App != nil && !strings.HasPrefix(r.URL.Path, "/v1/") {
			cfg.App.ServeHTTP(w, r)
			return
		}
		WriteError(w, r, errNoRoute)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { WriteError(w, r, errMethod) })
	auth := Authenticate(cfg.Keys, cfg.AuthCacheTTL)
	var idem func(http.Handler) http.Handler
	if cfg.Idempotency != nil {
		idem = Idempotent(cfg.Idempotency, cfg.IdempotencyWait)
	}
	for _, rt := range s.routes {
		limit := cfg.MaxBodyBytes
		if rt.MaxBody > 0 {
			limit = rt.MaxBody
		}
		mw := []func(http.Handler) http.Handler{LimitBody(limit)}
		if !rt.Public {
			mw = append(mw, auth, requireRoles(rt.Roles))
		}
		if exportable(rt) {
			mw = append(mw, Export(rt.Response))
		}
		if idem != nil && rt.Method != http.MethodGet {
			mw = append(mw, idem)
		}
		r.With(mw...).Method(rt.Method, rt.Pattern, rt.Handler)
	}
	s.handler = r
	return s
}

func wrapHandler(h http.Handler) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// Handler returns the API as one http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the full route table, built-in routes first, so tests can
// walk every endpoint (the authorisation table test does).
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// OpenAPIDocument returns the OpenAPI 3.1 document served at /openapi.json.
func (s *Server) OpenAPIDocument() []byte { return append([]byte(nil), s.openapi...) }

func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.openapi)
	return err
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections, lets in-flight requests finish for up to
// Config.ShutdownTimeout, then closes what is left. It returns nil after a
// clean shutdown, or the error that stopped it (a failed listener, or
// in-flight requests outliving the timeout).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // below postgres.IdempotencyLease
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http serve: %w", err)
	}
	return nil
}

// gatherers is what /metrics serves: the server's registry and MoreMetrics.
func gatherers(cfg Config) prometheus.Gatherer {
	if cfg.MoreMetrics == nil {
		return cfg.Metrics
	}
	return prometheus.Gatherers{cfg.Metrics, cfg.MoreMetrics}
}
