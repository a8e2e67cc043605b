package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/metrics"
	"github.com/ripcord-dr/ripcord/supervisor"
	"github.com/ripcord-dr/ripcord/web"
)

// serveConfig is the configuration of `ripcord serve`.
type serveConfig struct {
	connFlags
	Addr     string
	TLSCert  string
	TLSKey   string
	Insecure bool
	// Scan is how often the store is searched for executions nobody
	// drives.
	Scan time.Duration
	// LeaseTTL is how long an execution's lease lasts without renewal,
	// and Heartbeat how often the replica says it is live (its heartbeat
	// lasts LeaseTTL too): a replica that dies hands its executions over
	// within about LeaseTTL plus Scan.
	LeaseTTL, Heartbeat time.Duration
	// ShutdownGrace bounds the soft stop: requests and DRS calls in
	// flight finish within it.
	ShutdownGrace time.Duration
	// CheckInterval is how often every plan's readiness is checked (0:
	// never); OnReadiness, when set, gets each check's findings.
	CheckInterval time.Duration
	// ScheduleInterval is how often the plans' schedules are looked at
	// (0: scheduled drills are off on this replica).
	ScheduleInterval time.Duration
	OnReadiness      func(plan string, findings []ripcord.Finding)
	// PublicURL is where people reach the server, for links in
	// notifications (serve_notify.go).
	PublicURL string
	// Metrics serves Prometheus metrics at /metrics (docs/metrics.md).
	Metrics bool
}

func (c serveConfig) Validate() error {
	if err := c.connFlags.Validate(); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return errInvalid("invalid --addr %q: want HOST:PORT, e.g. 127.0.0.1:8080", c.Addr)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errInvalid("--tls-cert and --tls-key go together: give both, or neither")
	}
	if c.TLSCert == "" && !c.Insecure && !loopback(host) {
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("refusing to serve on %s without TLS: tokens and session cookies would cross the network in clear", c.Addr),
			Hint:    "give --tls-cert and --tls-key, listen on 127.0.0.1, or say --insecure if a TLS proxy in front of ripcord handles it"}
	}
	if c.ScheduleInterval < 0 {
		return errInvalid("invalid --schedule-interval %s: must not be negative (0 turns scheduled drills off on this replica)", c.ScheduleInterval)
	}
	if c.CheckInterval < 0 {
		return errInvalid("invalid --check-interval %s: must not be negative (0 turns readiness checks off)", c.CheckInterval)
	}
	if c.Scan <= 0 || c.ShutdownGrace <= 0 || c.LeaseTTL <= 0 || c.Heartbeat <= 0 {
		return errInvalid("--scan, --lease-ttl, --heartbeat and --shutdown-grace must be greater than 0")
	}
	if err := validPublicURL(c.PublicURL); err != nil {
		return err
	}
	if c.Heartbeat*2 > c.LeaseTTL {
		return errInvalid("--heartbeat %s is more than half of --lease-ttl %s: a live replica would look dead between two heartbeats; e.g. --heartbeat 2s --lease-ttl 10s", c.Heartbeat, c.LeaseTTL)
	}
	return nil
}

// loopback reports whether host names only this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newServeCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080]",
		Short: "Serve the API and drive executions until stopped",
		Long: `serve runs the engine and an HTTP server: the REST API under /api/v1 (see
docs/api.md; tokens come from ripcord token create), /healthz, /readyz and
Prometheus metrics at /metrics (docs/metrics.md; --metrics=false: none). It
drives the executions started through it, and every --scan takes over the
executions nobody drives (a run that was killed, a server that stopped) and
carries out drill cleanups that fell due.

Several replicas may share one PostgreSQL store (--db postgres://...; see
the README): each serves the API and the console, and each execution is
driven by one of them, chosen by its targets among the live replicas. A
replica that stops hands its executions over at once; one that dies, when
its leases expire (--lease-ttl).

It refuses to listen on an address other than loopback without TLS
(--tls-cert, --tls-key) unless told --insecure. The first Ctrl-C stops
softly: no new requests or launches, the requests and DRS calls in flight
finish and are recorded, and every execution stays resumable.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			return serve(cmd.Context(), cmd.ErrOrStderr(), cfg, nil)
		},
	}
	cfg.connFlags.register(cmd)
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on, HOST:PORT")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	f.BoolVar(&cfg.Insecure, "insecure", false, "allow plain HTTP on a non-loopback address (behind a TLS proxy)")
	f.DurationVar(&cfg.Scan, "scan", 2*time.Second, "how often to look for executions nobody drives")
	f.DurationVar(&cfg.LeaseTTL, "lease-ttl", 10*time.Second, "how long an execution's lease (and a replica's heartbeat) lasts without renewal")
	f.DurationVar(&cfg.Heartbeat, "heartbeat", 2*time.Second, "how often this replica records that it is live")
	f.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", time.Minute, "how long a soft stop may take")
	f.DurationVar(&cfg.ScheduleInterval, "schedule-interval", 30*time.Second, "how often to look for scheduled drills that are due (0: never, on this replica)")
	f.DurationVar(&cfg.CheckInterval, "check-interval", 5*time.Minute, "how often to check every plan's readiness and staleness (0: never)")
	f.StringVar(&cfg.PublicURL, "public-url", "", "the URL people reach this server at, for links in notifications (e.g. https://dr.example.com)")
	f.BoolVar(&cfg.Metrics, "metrics", true, "serve Prometheus metrics at /metrics, without authentication (docs/metrics.md)")
	return cmd
}

// serve runs the server until ctx ends. ready, when set, receives the
// address it listens on (tests listen on port 0).
func serve(ctx context.Context, errOut io.Writer, cfg serveConfig, ready func(addr string)) error {
	store, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	logger := cfg.logger(errOut)
	// Whether --endpoint-url is a ripcord simulator is settled once, now,
	// not by whichever request first needs a DRS connection.
	cfg.simulator(ctx)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: fmt.Sprintf("listen on %s: %v", cfg.Addr, err),
			Hint: "choose another --addr, or stop what listens there"}
	}
	defer ln.Close()
	if cfg.Metrics {
		cfg.metrics = metrics.New(metrics.Config{Store: store, Logger: logger})
	}
	owner := replicaOwner()
	// The supervisor, the readiness keeper and the notifications run
	// until supCtx ends; notifications start first, so that the
	// supervisor's first look at the schedules can notify.
	supCtx, stopSup := context.WithCancel(context.WithoutCancel(ctx))
	dispatcher, notified := startNotifications(supCtx, cfg, store, ripcord.NewReplicaID(owner), logger)
	defer notified() // after stopSup, below: deferred calls run last first
	defer stopSup()
	sup := supervisor.New(supervisor.Config{
		Store:   store,
		Connect: cfg.clients,
		NewEngine: func(targets map[string]ripcord.DRS) *engine.Engine {
			// The engine's own events are the server's; a person's
			// carry the token's identity.
			return cfg.newEngineAs(ctx, errOut, store, targets, nil, serveActor(), cfg.LeaseTTL)
		},
		Scan:       cfg.Scan,
		Logger:     logger,
		Replica:    ripcord.Replica{ID: ripcord.NewReplicaID(owner), Owner: owner, Addr: ln.Addr().String()},
		Heartbeat:  cfg.Heartbeat,
		ReplicaTTL: cfg.LeaseTTL,
		Schedules:  cfg.ScheduleInterval,
		OnSchedule: scheduleHooks(supCtx, store, dispatcher, cfg.clock(ctx).Now),
		OwnerGone:  processGone,
	})
	rk := &readinessKeeper{store: store, connect: sup.Clients, now: cfg.clock(ctx).Now, interval: cfg.CheckInterval,
		log: logger, OnReadiness: cfg.OnReadiness}
	h, err := web.New(web.Config{Store: store, Logger: logger, Executions: sup, Inventory: sup, Readiness: rk})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: withMetrics(cfg.metrics, h), ReadHeaderTimeout: web.ReadHeaderTimeout, ReadTimeout: web.ReadTimeout,
		WriteTimeout: web.WriteTimeout, IdleTimeout: web.IdleTimeout, MaxHeaderBytes: web.MaxHeaderBytes,
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(errOut, "serving on %s://%s (store %s)\n", scheme, ln.Addr(), storeName(cfg.DB))
	if ready != nil {
		ready(ln.Addr().String())
	}

	supDone := make(chan error, 1)
	go func() { supDone <- sup.Run(supCtx) }()
	rk.OnReadiness = readinessHooks(store, dispatcher, func(name string, findings []ripcord.Finding) {
		if cfg.metrics != nil {
			bySeverity := map[string]int{}
			for _, f := range findings {
				bySeverity[string(f.Severity)]++
			}
			cfg.metrics.SetReadinessFindings(name, bySeverity)
		}
		if cfg.OnReadiness != nil {
			cfg.OnReadiness(name, findings)
		}
	})
	rkDone := make(chan struct{})
	go func() { defer close(rkDone); rk.Run(supCtx) }()
	defer func() { stopSup(); <-rkDone }()
	srvDone := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			srvDone <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			srvDone <- srv.Serve(ln)
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-srvDone:
	}
	// Soft stop: no new requests; those in flight (and event streams)
	// end; then the drivers stop after their DRS calls in flight.
	fmt.Fprintln(errOut, "stopping: finishing requests and DRS calls in flight; executions stay resumable")
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	h.Close()
	if err := srv.Shutdown(grace); err != nil {
		logger.Warn("requests still open at the end of the grace period were cut", "err", err)
	}
	stopSup()
	if err := <-supDone; err != nil {
		logger.Warn("the supervisor stopped with an error", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// replicaOwner names this process among the replicas.
func replicaOwner() ripcord.LeaseOwner {
	host, _ := os.Hostname()
	return ripcord.LeaseOwner{Host: host, PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Microsecond)}
}

// serveActor is who the server's engine records its events as.
func serveActor() string {
	host, _ := os.Hostname()
	return "ripcord serve@" + host
}

// storeName is the --db value, or what it defaults to.
func storeName(db string) string {
	if db == "" {
		return "the default store"
	}
	return db
}
