// Package supervisor drives many executions in one long-running process
// (ripcord serve): those started through it, those a person resumes or
// asks to clean up, and, looking at the store every Scan, those nobody
// drives any more (their driver's lease expired or was released: a
// crashed `ripcord run`, a replica that died) and drills whose scheduled
// cleanup fell due while nothing ran. Each execution is driven by the
// engine's Run under the execution's lease, so a supervisor never drives
// what another process drives, and a second supervisor on the same store
// only takes over what the first let go.
//
// Executions of plans with the same targets share one engine (and so its
// job view and quota keeper per target); plans whose targets differ get
// engines of their own, since a target's name means something only within
// its plan.
package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// Config configures a Supervisor. Store, Connect and NewEngine are
// required.
type Config struct {
	Store ripcord.Store
	// Connect builds DRS clients for a plan's targets, by target name.
	Connect func(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error)
	// NewEngine builds an engine over targets (cmd/ripcord sets the
	// clock, logger, owner and polling).
	NewEngine func(targets map[string]ripcord.DRS) *engine.Engine
	// Scan is how often the store is searched for executions to take
	// over (default 15s).
	Scan time.Duration
	// Clock paces the scans (default: the wall clock).
	Clock  engine.Clock
	Logger *slog.Logger
	// OnStop, when set, is called when a driver returns, with the
	// execution's ID, its state as the driver left it (nil if it never
	// loaded) and Run's error.
	OnStop func(id string, s *engine.State, err error)
}

// Supervisor drives executions; see the package documentation.
type Supervisor struct {
	cfg     Config
	mu      sync.Mutex
	engines map[string]*engine.Engine // by the canonical JSON of the targets
	clients map[string]ripcord.DRS    // by the canonical JSON of one target
	driving map[string]bool           // executions with a driver in this process
	ctx     context.Context           // Run's: drivers stop softly when it ends
	wg      sync.WaitGroup
}

// New returns a Supervisor; call Run.
func New(cfg Config) *Supervisor {
	if cfg.Scan <= 0 {
		cfg.Scan = 15 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{cfg: cfg, engines: map[string]*engine.Engine{}, clients: map[string]ripcord.DRS{}, driving: map[string]bool{}}
}

// ErrNotRunning is returned by Start and Control before Run began or after
// it ended: nothing would drive the execution.
var ErrNotRunning = &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "the supervisor is not running",
	Hint: "the server is starting or shutting down; try again"}

// Run takes over, every Scan, the executions nobody drives, until ctx
// ends. Then every driver stops softly (the DRS call in flight finishes
// and is recorded; the execution stays resumable) and Run returns once
// they have.
func (s *Supervisor) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ctx = nil
		s.mu.Unlock()
		s.wg.Wait()
	}()
	for {
		if err := s.TakeOver(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("looking for executions to take over failed; trying again", "err", err)
		}
		if err := s.cfg.Clock.Sleep(ctx, s.cfg.Scan); err != nil {
			return nil
		}
	}
}

// TakeOver looks once for executions to drive: running ones whose lease
// nobody holds live, and ended drills whose cleanup is requested or due.
// (A paused execution waits for a person: resuming it through Control
// drives it.)
// It starts a driver for each (a driver that finds the lease held gives
// up at once). Run calls it every Scan.
func (s *Supervisor) TakeOver(ctx context.Context) error {
	var ids []string
	running, err := s.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{State: ripcord.ExecRunning})
	if err != nil {
		return err
	}
	for _, x := range running {
		// A live lease is another driver's (or this process's): leave it
		// without folding the execution. Judged on this process's clock,
		// which may disagree with the store's: a lease that looks live
		// here but has expired there is taken over at a later scan, at
		// most the clocks' difference late; one that looks expired but is
		// live is refused by the store (Run's LeaseHeldError).
		l, err := s.cfg.Store.Lease(ctx, x.ID)
		if err != nil {
			return err
		}
		if l.Live(s.cfg.Clock.Now()) {
			continue
		}
		ids = append(ids, x.ID)
	}
	for _, state := range []ripcord.ExecState{ripcord.ExecSucceeded, ripcord.ExecFailed, ripcord.ExecCancelled} {
		ended, err := s.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{State: state})
		if err != nil {
			return err
		}
		for _, x := range ended {
			sum, err := engine.DecodeSummary(x.Summary)
			if err != nil || x.Mode != ripcord.ModeDrill {
				continue
			}
			if sum.Cleanup == "requested" || sum.Cleanup == "scheduled" && !s.cfg.Clock.Now().Before(sum.CleanupDue) {
				ids = append(ids, x.ID)
			}
		}
	}
	for _, id := range ids {
		if err := s.Drive(id); err != nil && !errors.Is(err, ErrNotRunning) {
			s.cfg.Logger.Warn("cannot drive execution", "execution", id, "err", err)
		}
	}
	return nil
}

// Begin starts an execution of a plan (engine.Begin: resolved in DRS,
// checked, recorded) and drives it in the background.
func (s *Supervisor) Begin(ctx context.Context, req engine.BeginRequest) (engine.Begun, error) {
	one, err := req.File.Extract(req.Plan)
	if err != nil {
		return engine.Begun{}, engine.PlanError(err)
	}
	eng, err := s.engineFor(ctx, one.Targets)
	if err != nil {
		return engine.Begun{}, err
	}
	b, err := eng.Begin(ctx, req)
	if err != nil {
		return b, err
	}
	return b, s.Drive(b.ID)
}

// Control records a person's command (pause, resume, cancel, retry, skip,
// cleanup) through the engine's guarded path, then makes sure a driver
// carries it out (a resumed, retried or skipped execution goes on; a
// cleanup is carried out). step names the step for retry and skip.
func (s *Supervisor) Control(ctx context.Context, id, action, actor, step string) error {
	eng, err := s.engineOf(ctx, id)
	if err != nil {
		return err
	}
	switch action {
	case "pause":
		err = eng.Pause(ctx, id, actor)
	case "resume":
		err = eng.Resume(ctx, id, actor)
	case "cancel":
		err = eng.Cancel(ctx, id, actor)
	case "retry":
		err = eng.Retry(ctx, id, actor, step)
	case "skip":
		err = eng.Skip(ctx, id, actor, step)
	case "cleanup":
		err = eng.Cleanup(ctx, id, actor)
	default:
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("unknown action %q", action),
			Hint: "actions are pause, resume, cancel, retry, skip and cleanup"}
	}
	if err != nil {
		return err
	}
	if action == "pause" {
		return nil // the driver, if any, reads it and settles
	}
	return s.Drive(id)
}

// Drive starts a driver for execution id in the background, unless this
// process drives it already. The driver runs until the execution ends,
// pauses, or Run's context ends; another process's live lease makes it
// give up at once (the next TakeOver tries again).
func (s *Supervisor) Drive(id string) error {
	s.mu.Lock()
	ctx := s.ctx
	if ctx == nil || ctx.Err() != nil {
		s.mu.Unlock()
		return ErrNotRunning
	}
	if s.driving[id] {
		s.mu.Unlock()
		return nil
	}
	s.driving[id] = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		st, err := s.drive(ctx, id)
		s.mu.Lock()
		delete(s.driving, id)
		s.mu.Unlock()
		var held *engine.LeaseHeldError
		switch {
		case err == nil, errors.As(err, &held), errors.Is(err, engine.ErrStopped):
		default:
			s.cfg.Logger.Error("driving an execution failed; it stays resumable", "execution", id, "err", err)
		}
		if s.cfg.OnStop != nil {
			s.cfg.OnStop(id, st, err)
		}
	}()
	return nil
}

func (s *Supervisor) drive(ctx context.Context, id string) (*engine.State, error) {
	eng, err := s.engineOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return eng.Run(ctx, id)
}

// Driving reports whether this process drives execution id now.
func (s *Supervisor) Driving(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.driving[id]
}

// engineOf returns the engine for an execution's targets.
func (s *Supervisor) engineOf(ctx context.Context, id string) (*engine.Engine, error) {
	probe := engine.New(engine.Config{Store: s.cfg.Store})
	spec, err := probe.Spec(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.engineFor(ctx, spec.Targets)
}

// engineFor returns the engine for a set of targets, connecting once.
func (s *Supervisor) engineFor(ctx context.Context, targets []ripcord.Target) (*engine.Engine, error) {
	key, err := json.Marshal(targets)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	eng := s.engines[string(key)]
	s.mu.Unlock()
	if eng != nil {
		return eng, nil
	}
	clients, err := s.cfg.Connect(ctx, targets)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if eng := s.engines[string(key)]; eng != nil {
		return eng, nil
	}
	eng = s.cfg.NewEngine(clients)
	s.engines[string(key)] = eng
	return eng, nil
}

// SourceServers lists what DRS holds in a target, over a connection made
// once per target definition.
func (s *Supervisor) SourceServers(ctx context.Context, t ripcord.Target) ([]ripcord.SourceServer, error) {
	key, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	api := s.clients[string(key)]
	s.mu.Unlock()
	if api == nil {
		clients, err := s.cfg.Connect(ctx, []ripcord.Target{t})
		if err != nil {
			return nil, err
		}
		api = clients[t.Name]
		s.mu.Lock()
		s.clients[string(key)] = api
		s.mu.Unlock()
	}
	return api.ListSourceServers(ctx, nil)
}
