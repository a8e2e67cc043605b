package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/metrics"
)

// connFlags are the flags every command that talks to DRS or the store
// shares: where the store is, and how to reach DRS (AWS conventions).
type connFlags struct {
	DB        string
	Profile   string
	Region    string
	Endpoint  string
	Output    string
	RateLimit float64
	Poll      time.Duration
	LogLevel  string
	LogFormat string
	// STSEndpoint is where STS is called (caller identity, AssumeRole);
	// empty: AWS_ENDPOINT_URL_STS, or the DRS endpoint when it is a
	// ripcord simulator, or AWS.
	STSEndpoint string

	// Remote is the ripcord server the command goes through instead
	// (registerRemote, server).
	Remote remoteFlags

	// metrics, when set (ripcord serve), is fed by every DRS client and
	// engine made from these flags (metrics.go).
	metrics *metrics.Metrics
}

func (c *connFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.DB, "db", "", "the store: an SQLite file, or a postgres:// URL shared by several servers (default: $XDG_STATE_HOME/ripcord/ripcord.db)")
	f.StringVar(&c.Profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile)")
	f.StringVar(&c.Region, "region", "", "AWS region for targets that do not name one")
	f.StringVar(&c.Endpoint, "endpoint-url", "", "DRS endpoint URL (e.g. a ripcord sim); AWS_ENDPOINT_URL_DRS works too")
	f.StringVar(&c.Output, "output", "text", "output format: text or json")
	f.Float64Var(&c.RateLimit, "rate-limit", 5, "most DRS requests per second per target")
	f.DurationVar(&c.Poll, "poll", 5*time.Second, "shortest interval between two looks at DRS while jobs run (it grows to 30s when nothing changes)")
	f.StringVar(&c.LogLevel, "log-level", "warn", "least severe log records written to stderr: debug, info, warn or error")
	f.StringVar(&c.LogFormat, "log-format", logFormatText, "log format on stderr: text, json, or auto (text on a terminal, JSON otherwise)")
	f.StringVar(&c.STSEndpoint, "sts-endpoint-url", "", "STS endpoint URL for account checks and role assumption (default: AWS_ENDPOINT_URL_STS, or --endpoint-url when it is a ripcord simulator)")
}

// logLevels are the --log-level values.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// logger returns the logger the flags ask for, writing to w (stderr).
func (c *connFlags) logger(w io.Writer) *slog.Logger {
	format := c.LogFormat
	if format == logFormatAuto {
		format = logFormatJSON
		if isTerminal(w) {
			format = logFormatText
		}
	}
	opts := &slog.HandlerOptions{Level: logLevels[c.LogLevel]}
	if format == logFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (c *connFlags) Validate() error {
	if c.Output != "text" && c.Output != "json" {
		return errInvalid("invalid --output %q: must be text or json", c.Output)
	}
	if c.Poll <= 0 {
		return errInvalid("invalid --poll %s: must be greater than 0, e.g. 5s", c.Poll)
	}
	if c.RateLimit <= 0 {
		return errInvalid("invalid --rate-limit %v: must be greater than 0 requests per second", c.RateLimit)
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		return errInvalid("invalid --log-level %q: must be debug, info, warn or error", c.LogLevel)
	}
	if !validLogFormat(c.LogFormat) {
		return errInvalid("invalid --log-format %q: must be text, json or auto", c.LogFormat)
	}
	return nil
}

// withStore makes a command's RunE that checks the flags, opens the store,
// runs fn and closes the store.
func (c *connFlags) withStore(fn func(ctx context.Context, cmd *cobra.Command, args []string, store ripcord.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := c.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		store, err := c.openStore(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		return fn(ctx, cmd, args, store)
	}
}

// openStore opens the store named by --db (an SQLite file or a
// postgres:// URL) or the default SQLite one.
func (c *connFlags) openStore(ctx context.Context) (ripcord.Store, error) {
	return openStoreAt(ctx, c.DB, false)
}

// clients connects to DRS in each target.
func (c *connFlags) clients(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error) {
	out := map[string]ripcord.DRS{}
	for _, t := range targets {
		region := t.Region
		if region == "" {
			region = c.Region
		}
		endpoint := t.Endpoint
		if endpoint == "" {
			endpoint = c.Endpoint
		}
		dc := drs.Config{Region: region, Endpoint: endpoint, RoleARN: t.RoleARN, ExternalID: t.ExternalID,
			Profile: c.Profile, RateLimit: c.RateLimit, STSEndpoint: c.stsEndpoint(ctx, endpoint),
			// Which process sent a request, for DRS's side (CloudTrail).
			AppID:   fmt.Sprintf("ripcord-%d", os.Getpid()),
			Observe: c.observeDRS(t.Name)}
		cl, err := drs.New(ctx, dc)
		if err != nil {
			return nil, fmt.Errorf("connect to DRS for target %s: %w", t.Name, err)
		}
		if err := connectInstances(ctx, cl, dc); err != nil { // health checks (health.go)
			return nil, fmt.Errorf("connect to EC2 and SSM for target %s: %w", t.Name, err)
		}
		out[t.Name] = cl
	}
	return out, nil
}

// newEngine builds an engine for the targets of an execution, logging to
// errOut. Against a ripcord simulator its clock is the simulator's, so that
// deadlines, RTO and instance-minutes are in the same (simulated) time as
// DRS's jobs.
func (c *connFlags) newEngine(ctx context.Context, errOut io.Writer, store ripcord.Store, targets map[string]ripcord.DRS, onChange func(*engine.State)) *engine.Engine {
	return c.newEngineAs(ctx, errOut, store, targets, onChange, actor(), 0)
}

// newEngineAs is newEngine recording the engine's own events as by who,
// with leases of leaseTTL (0: the engine's default).
func (c *connFlags) newEngineAs(ctx context.Context, errOut io.Writer, store ripcord.Store, targets map[string]ripcord.DRS, onChange func(*engine.State), who string, leaseTTL time.Duration) *engine.Engine {
	cfg := engine.Config{Store: store, Targets: targets, Actor: who, OnChange: onChange, LeaseTTL: leaseTTL,
		MinPoll: c.Poll, Poll: max(c.Poll, 30*time.Second), Logger: c.logger(errOut), OwnerGone: processGone,
		Clock: c.clock(ctx), Instances: instancesOf(targets), SSM: c.ssmFor}
	c.observeEngine(&cfg)
	return engine.New(cfg)
}

// clock is the simulator's clock when --endpoint-url is a ripcord
// simulator, else the wall clock.
func (c *connFlags) clock(ctx context.Context) engine.Clock {
	if c.Endpoint == "" {
		return engine.RealClock{}
	}
	if sc := c.simClock(ctx); sc != nil {
		return sc
	}
	return engine.RealClock{}
}

// processGone reports whether a lease holder's process is known to have
// ended: it ran on this host and no process has its PID any more. (A PID
// reused by another process keeps the lease until it expires: the safe
// side.)
func processGone(o ripcord.LeaseOwner) bool {
	host, err := os.Hostname()
	if err != nil || o.Host != host || o.PID <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(o.PID, 0), syscall.ESRCH)
}

// actor is the identity recorded with a person's commands: the local user.
func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "unknown"
}

// exit codes of run and exec resume, by outcome.
const (
	exitFailed      = 3
	exitCancelled   = 4
	exitPaused      = 5
	exitInterrupted = 130 // stopped by Ctrl-C (SIGINT) or SIGTERM; resumable
)

// outcomeError turns an execution's end into the command's error (and exit
// status): nil only when it succeeded.
func outcomeError(s *engine.State) error {
	switch s.State {
	case ripcord.ExecSucceeded:
		return nil
	case ripcord.ExecCancelled:
		return &exitError{code: exitCancelled, msg: fmt.Sprintf("execution %s was cancelled", s.ID)}
	case ripcord.ExecPaused:
		msg := fmt.Sprintf("execution %s is paused", s.ID)
		if s.PauseReason != "" {
			msg += ": " + s.PauseReason
		}
		remedy := s.PauseRemedy
		if remedy == "" {
			remedy = "resume it with: ripcord exec resume " + s.ID
		}
		return &exitError{code: exitPaused, msg: msg, hint: remedy}
	}
	return &exitError{code: exitFailed, msg: fmt.Sprintf("execution %s failed: %s", s.ID, s.Reason)}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
	hint string
}

func (e *exitError) Error() string { return e.msg }

// Unwrap gives the hint to ripcord.ErrorHint.
func (e *exitError) Unwrap() error {
	if e.hint == "" {
		return nil
	}
	return &ripcord.Error{Code: ripcord.EINTERNAL, Message: e.msg, Hint: e.hint}
}
