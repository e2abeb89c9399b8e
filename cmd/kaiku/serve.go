package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/adapters/natsbus"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/webapp"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/projections/catalog"
)

func runServe(ctx context.Context, e *env, args []string) error {
	var cfg config
	fs := newFlags(e, "serve", "[flags]", `
Serves the HTTP API, runs the projectors that keep the read models up to
date, and extends and seals the audit hash chain. Applies migrations at
start. On SIGTERM or Ctrl-C it stops accepting, finishes the requests in
flight, then stops the projectors at a checkpoint.`)
	cfg.bind(fs, e, "db", "addr", "store", "bus", "idempotency")
	debug := fs.Bool("debug", false, "log every request")
	demo := fs.Bool("demo", false, "without a master key, seal personal data under a throwaway key (lost when the process stops)")
	alert := time.Minute
	if v := e.getenv("KAIKU_FENCE_ALERT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("KAIKU_FENCE_ALERT=%q is not a duration such as 1m or 90s", v)
		}
		alert = d
	}
	fenceAlert := fs.Duration("fence-alert", alert,
		"fail /readyz, naming the session, once a transaction left open on the PostgreSQL server has held the log's readers back this long (env KAIKU_FENCE_ALERT)")
	ownProjectors := fs.Bool("projectors", true, "run the projectors in this process; with --bus, set false when `kaiku project` processes build the read models")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	retention, err := cfg.idempotencyRetention()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	if err := cfg.requireMasterKey(*demo, log.Warn); err != nil {
		return err
	}
	pool, err := cfg.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool, func(m postgres.Migration) { log.Info("migration applied", "name", m.Name) }); err != nil {
		return err
	}
	if err := catalog.EnsureLive(ctx, pool); err != nil {
		return err
	}
	store, closeStore, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	var pd *postgres.PersonalData
	if st, ok := store.(*postgres.Store); ok {
		pd = postgres.NewPersonalData(pool, st)
		if err := prepareServe(ctx, pd, log.Info); err != nil {
			return err
		}
	}
	commands := command.New(store, command.WithRetries(10), command.WithCache(time.Second))

	// Projectors, the forwarder and the chainer run until the HTTP server
	// has drained.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup
	if cfg.Bus != "" {
		server, bus, err := natsbus.ParseURL(cfg.Bus)
		if err != nil {
			return err
		}
		nc, err := natsbus.Connect(server, "kaiku serve")
		if err != nil {
			return fmt.Errorf("NATS at %s: %w (check --bus / KAIKU_BUS, or run without a bus)", server, err)
		}
		defer nc.Close()
		fwd, err := natsbus.NewForwarder(natsbus.ForwarderConfig{Bus: bus, Store: store, Pool: pool, Conn: nc,
			Logger: watermill.NewSlogLogger(log)})
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = fwd.Run(bg) }()
		log.Info("forwarding the log to NATS JetStream", "stream", bus.Stream)
	}
	sup := newSupervisor(pool, store, commands, log)
	sup.passive = !*ownProjectors
	wg.Add(1)
	go func() { defer wg.Done(); sup.Run(bg) }()
	var verify func(context.Context) (audit.Report, error)
	var fence *httpapi.FenceWatch
	ready := []httpapi.Check{
		{Name: "postgres", Ready: httpapi.PingReady(pool)},
		{Name: "migrations", Ready: httpapi.MigrationsReady(pool)},
		{Name: "projections", Ready: sup.Ready},
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Store == "" || cfg.Store == "postgres" {
		fence = &httpapi.FenceWatch{Read: func(ctx context.Context) (postgres.Fence, error) { return postgres.ReadFence(ctx, pool) },
			Alert: *fenceAlert}
		ready = append(ready, httpapi.Check{Name: "fence", Ready: httpapi.FenceReady(fence)})
		reg.MustRegister(postgres.NewFenceCollector(pool))
		chainer := postgres.NewChainer(pool, postgres.ChainerConfig{Key: []byte(cfg.SealKey), Logger: log})
		wg.Add(1)
		go func() { defer wg.Done(); _ = chainer.Run(bg, time.Second) }()
		verify = func(ctx context.Context) (audit.Report, error) {
			return postgres.Verify(ctx, pool, []byte(cfg.SealKey))
		}
	} else {
		// The log is in KurrentDB: chain it through the port, keeping the
		// chain and seals beside the read models.
		chainer := postgres.NewPortChainer(pool, store, postgres.ChainerConfig{Key: []byte(cfg.SealKey), Logger: log})
		wg.Add(1)
		go func() { defer wg.Done(); _ = chainer.Run(bg, time.Second) }()
		verify = func(ctx context.Context) (audit.Report, error) {
			return postgres.VerifyPort(ctx, pool, store, []byte(cfg.SealKey))
		}
	}
	idem := postgres.NewIdempotency(pool, postgres.WithRetention(retention))
	wg.Add(1)
	go func() { defer wg.Done(); _ = idem.RunPurger(bg, time.Hour, log) }()
	sessions := postgres.NewSessions(pool, 0, 0)
	wg.Add(1)
	go func() { defer wg.Done(); _ = sessions.RunPurger(bg, time.Hour, log) }()

	deps := httpapi.Deps{Commands: commands, Views: views{pool: pool, store: store}, Projections: sup, Verify: verify, Fence: fence, Now: time.Now,
		Personal: personalRoutes(pd)}
	app := webapp.New(webapp.Config{Deps: deps, Keys: postgres.NewAPIKeys(pool), Sessions: sessions,
		BehindTLSProxy: os.Getenv("KAIKU_TLS_PROXY") == "true"})
	srv := httpapi.New(httpapi.Config{
		Keys:        postgres.NewAPIKeys(pool),
		Idempotency: idem,
		Routes:      httpapi.Routes(deps),
		App:         app.Handler(),
		Ready:       ready,
		Metrics:     reg,
		MoreMetrics: sup,
		Version:     version(),
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another kaiku running? choose another with --addr or KAIKU_ADDR)", cfg.Addr, err)
	}
	log.Info("kaiku serving", "addr", "http://"+ln.Addr().String(), "store", cfg.Store, "pid", os.Getpid())
	serveErr := srv.Serve(ctx, ln)
	log.Info("http server stopped; stopping projectors at their checkpoints")
	stopBG()
	wg.Wait()
	if serveErr != nil && !errors.Is(serveErr, context.Canceled) {
		return serveErr
	}
	log.Info("kaiku stopped")
	return nil
}

// personalRoutes is pd for the API, or nil (its routes then answer 500)
// when the log is not in PostgreSQL.
func personalRoutes(pd *postgres.PersonalData) httpapi.PersonalData {
	if pd == nil {
		return nil
	}
	return pd
}

// version is the build's module version, for /openapi.json.
func version() string { return "1.0.0" }
