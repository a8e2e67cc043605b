// Package engine runs executions: it drives a recovery plan's steps in
// dependency order, launches each step's servers in as few DRS jobs as the
// quotas allow after looking at DRS's own job list, waits on the real
// blockers instead of sleeping blindly, records every intent before acting
// and every result after, and reconciles unclear outcomes before retrying,
// so that a server is launched exactly once across crashes and lost
// responses. It is a reconcile loop in the manner of a Kubernetes
// controller: read the events, read DRS, decide, act, record.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Clock is the engine's time: Now, and a Sleep that returns early when ctx
// is done. Tests use a clock whose Sleep moves simulated time forward, so a
// thirty-minute drill runs in milliseconds.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// virtualClock is implemented by a clock whose Sleep moves time instead of
// waiting (drssim.ManualClock): time there passes only when the engine
// sleeps, so work that takes real time (a hook's call) must end before it
// does.
type virtualClock interface{ Virtual() bool }

func isVirtual(c Clock) bool {
	v, ok := c.(virtualClock)
	return ok && v.Virtual()
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Quotas are the DRS job limits the engine keeps within, per target.
type Quotas struct {
	ServersPerJob       int // default 100
	ActiveJobs          int // default 20
	ServersInActiveJobs int // default 500
	// Headroom is left free for people using the console: jobs and 10x
	// servers (default 0).
	Headroom int
}

func (q Quotas) withDefaults() Quotas {
	if q.ServersPerJob <= 0 {
		q.ServersPerJob = 100
	}
	if q.ActiveJobs <= 0 {
		q.ActiveJobs = 20
	}
	if q.ServersInActiveJobs <= 0 {
		q.ServersInActiveJobs = 500
	}
	return q
}

// Config configures an Engine.
type Config struct {
	Store   ripcord.Store
	Targets map[string]ripcord.DRS // by target name
	Clock   Clock
	// Poll is the longest interval between two looks at a target while
	// jobs run (default 30s), when nothing waits on it (see poll.go).
	Poll time.Duration
	// MinPoll is the interval while something waits on a target
	// (default 5s).
	MinPoll time.Duration
	Quotas  Quotas
	// Actor is recorded as who appended the engine's events.
	Actor  string
	Logger *slog.Logger
	// Hooks lets tests stop the engine at its dangerous points.
	Hooks Hooks
	// Seed makes the backoff jitter repeatable (0: seeded from the clock).
	Seed int64
	// OnChange, when set, is called after every pass that recorded
	// something, and after every pass while DRS is failing, with the
	// execution's state (read it, do not keep it).
	OnChange func(*State)
	// Owner identifies this driver in leases (default: this host and
	// process, made unique per Engine).
	Owner ripcord.LeaseOwner
	// LeaseTTL is how long the lease lasts without renewal (default 2m).
	// The engine renews it every pass and before every DRS mutation, so
	// it must exceed the longest pass or DRS call.
	LeaseTTL time.Duration
	// OwnerGone, when set, reports whether a lease holder is known to be
	// gone (its process ended): its lease is then taken over without
	// waiting for it to expire. cmd/ripcord checks processes on this
	// host.
	OwnerGone func(ripcord.LeaseOwner) bool
	// MutationTimeout bounds a DRS mutation (StartRecovery,
	// TerminateRecoveryInstances) and the recording of its outcome once
	// started: a soft stop (ctx done) lets them finish within it
	// (default 1m).
	MutationTimeout time.Duration
	// JobHorizon is how far back the first look at a target's jobs
	// reaches (default DefaultJobHorizon; negative: all of history).
	// Later looks read only the jobs created since (see jobView).
	JobHorizon time.Duration
	// Instances are the EC2 and SSM clients of the targets, by target
	// name, for health checks (health.go); a target without one fails
	// its ec2Status and ssm checks, saying so.
	Instances map[string]ripcord.Instances
	// HTTPClient makes the http checks' requests (default: one that
	// follows no redirects).
	HTTPClient *http.Client
	// OutageLimit, when the plan sets none, is how long DRS may keep
	// failing with transient errors before the execution pauses
	// (default 30m).
	OutageLimit time.Duration
	// OnEvent, when set, is called after each event this engine appends
	// (a driver's, a control command's, an execution's start) with the
	// execution's state after it (read it, do not keep it): metrics. It
	// runs on the driver's goroutine and must not block; a panic in it
	// is logged and ignored.
	OnEvent func(*State, ripcord.Event)
	// OnQuota, when set, is called at each launch decision in a target
	// with the quota headroom the decision saw; like OnEvent it must not
	// block.
	OnQuota func(QuotaHeadroom)
	// SSM returns the SSM client of a target for SSM hooks (hooks.go);
	// nil: SSM hooks fail, saying so.
	SSM func(ctx context.Context, t ripcord.Target) (ripcord.SSM, error)
	// Secrets resolves a hook header's {secret: NAME} (default
	// EnvSecrets). Values are never logged or recorded.
	Secrets func(name string) (string, error)
	// HookHTTP sends HTTP hooks (default: a client without a timeout of
	// its own; each hook's timeout bounds its attempts).
	HookHTTP *http.Client
}

// DefaultOutageLimit is how long a transient DRS outage lasts before the
// execution pauses, unless the plan says otherwise.
const DefaultOutageLimit = 30 * time.Minute

// Hooks are called at the engine's dangerous points; an error returned by a
// hook stops the engine there, as a crash would.
type Hooks struct {
	AfterIntent   func(batch string) error // LaunchRequested recorded, StartRecovery not yet called
	AfterCall     func(batch string) error // StartRecovery answered, JobCreated not yet recorded
	AfterPoll     func() error             // a poll of DRS was made, nothing recorded yet
	DuringCleanup func() error             // TerminateRequested recorded, call not yet made
	// AfterConfigCall: UpdateLaunchConfiguration answered for server,
	// LaunchConfigUpdated not yet recorded.
	AfterConfigCall func(server string) error
	// AfterHookCall: a hook of step answered, its result not yet
	// recorded.
	AfterHookCall func(step, hook string) error
}

// ErrCrash is what a hook returns to simulate a crash.
var ErrCrash = errors.New("engine stopped by a test hook")

// Engine runs executions.
type Engine struct {
	cfg    Config
	keeper sync.Map // target -> *quotaKeeper
	views  sync.Map // target -> *jobView
	// folded holds the state a control command of this engine just
	// folded and recorded, by execution, for Run to take up.
	folded sync.Map
	// checked holds the targets (ripcord.Target values) whose account
	// CheckTargets has verified: their connections do not change.
	checked sync.Map
	// wakers holds, by execution, the channel that wakes the driver
	// this engine runs (wake.go).
	wakers sync.Map
	rng    *rand.Rand
	rngMu  sync.Mutex
}

// New returns an Engine.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.MinPoll <= 0 {
		cfg.MinPoll = 5 * time.Second
	}
	if cfg.MinPoll > cfg.Poll {
		cfg.MinPoll = cfg.Poll
	}
	cfg.Quotas = cfg.Quotas.withDefaults()
	if cfg.Actor == "" {
		cfg.Actor = "engine"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == (ripcord.LeaseOwner{}) {
		cfg.Owner = defaultOwner()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 2 * time.Minute
	}
	if cfg.MutationTimeout <= 0 {
		cfg.MutationTimeout = time.Minute
	}
	if cfg.Secrets == nil {
		cfg.Secrets = EnvSecrets
	}
	if cfg.HookHTTP == nil {
		cfg.HookHTTP = &http.Client{}
	}
	if cfg.OutageLimit <= 0 {
		cfg.OutageLimit = DefaultOutageLimit
	}
	if cfg.JobHorizon == 0 {
		cfg.JobHorizon = DefaultJobHorizon
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return &Engine{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(seed), 7))}
}

// quotaKeeper serializes the launch decisions of every execution that uses
// one target, so that together they stay within its quotas.
type quotaKeeper struct {
	mu sync.Mutex
	// gen is the target's store mutex generation when this engine last
	// released it (see lockTarget); -1: unknown.
	gen int64
}

func (e *Engine) keeperFor(target string) *quotaKeeper {
	v, _ := e.keeper.LoadOrStore(target, &quotaKeeper{})
	return v.(*quotaKeeper)
}

// Start records a new execution of spec. It does not run it: call Run. With
// spec.Exclusive set, the store refuses it (ECONFLICT, naming the other)
// while another execution with the same key is running or paused.
func (e *Engine) Start(ctx context.Context, id string, spec Spec) error {
	return e.StartAs(ctx, id, spec, e.cfg.Actor)
}

// StartAs is Start recording actor as who started the execution (the
// authenticated identity of an API request).
func (e *Engine) StartAs(ctx context.Context, id string, spec Spec, actor string) error {
	if len(spec.Steps) == 0 {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: "the plan has no steps"}
	}
	for _, st := range spec.Steps {
		for _, sv := range st.Servers {
			if e.cfg.Targets[sv.Target] == nil {
				return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("step %s: server %s is in target %q, which has no DRS connection", st.Name, sv.ID, sv.Target)}
			}
		}
	}
	now := e.cfg.Clock.Now()
	exec := ripcord.Execution{ID: id, PlanName: spec.Plan, PlanHash: spec.PlanHash, Mode: spec.Mode,
		State: ripcord.ExecRunning, Started: now, Actor: actor, Exclusive: spec.Exclusive}
	ev := newEvent(EvExecutionStarted, actor, now, spec)
	if err := e.cfg.Store.CreateExecution(ctx, exec, []ripcord.Event{ev}); err != nil {
		return err
	}
	if e.cfg.OnEvent != nil {
		ev.ExecutionID, ev.Seq = id, 1
		if s, err := Fold(id, []ripcord.Event{ev}); err == nil {
			e.emit(s, []ripcord.Event{ev})
		}
	}
	return nil
}

// Load folds an execution's events from the store.
func (e *Engine) Load(ctx context.Context, id string) (*State, error) {
	var all []ripcord.Event
	var after int64
	for {
		evs, err := e.cfg.Store.Events(ctx, id, after, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
		if len(evs) < 1000 {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	if len(all) == 0 {
		return nil, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "execution " + id + " has no events"}
	}
	return Fold(id, all)
}

// loadForRun folds the execution, or takes the state a control command of
// this engine just folded (exec resume of a paused execution, cleanup) and
// applies only what others recorded since: the log is folded once.
func (e *Engine) loadForRun(ctx context.Context, id string) (*State, error) {
	if v, ok := e.folded.LoadAndDelete(id); ok {
		s := v.(*State)
		if _, err := e.Follow(ctx, s); err == nil {
			return s, nil
		}
	}
	return e.Load(ctx, id)
}

// run is one execution being driven: its state and how to record events.
type run struct {
	e   *Engine
	s   *State
	ctx context.Context
	// log is the engine's logger with the execution's ID; step is the
	// step the driver works on now, if any (logger, onStep).
	log   *slog.Logger
	step  string
	dirty bool // something changed in this pass: poll again soon
	// endedPause is why an ended execution's driver stopped for a
	// person (pauseFor): its cleanup failed.
	endedPause string
	// failure is why the driver stops short (a target check, a pause for
	// a person, an error), recorded with its stop as the cleanup's
	// failure when the execution has ended (release).
	failure string
	// hookCalls are the hook calls in flight, by hookCallKey (hooks.go).
	hookCalls map[string]*hookCall
	// lease is this driver's lease (under leaseMu: keepAlive renews it
	// too); epoch fences its appends.
	leaseMu sync.Mutex
	// heldAt is the wall time (with its monotonic reading) when the
	// store last confirmed the lease (under leaseMu): see fresh.
	heldAt time.Time
	lease  ripcord.Lease
	epoch  int64
	// written is the summary last written to the listing row, at
	// writtenAt.
	written   []byte
	writtenAt time.Time
	// calls0 is the DRS request count of the targets' clients when this
	// driver started.
	calls0 int64
	// outage follows transient failures per target while they last.
	outage map[string]*Outage
	// failedNow and answeredNow are the targets where a DRS call failed,
	// or was answered, in this pass; lost is set when the lease was.
	failedNow   map[string]bool
	answeredNow map[string]bool
	lost        bool
	crashed     bool
	// notBefore delays the next launch attempt of a step after a refusal.
	notBefore map[string]time.Time
	backoff   map[string]int
	jobs      map[string]ripcord.Job // last seen state of this execution's jobs
	// fbInst is, in failback mode, the recovery instance of each server
	// (ServerKey) about to be failed back in this pass (failback.go).
	fbInst map[string]string
	// Polling by need (poll.go): when this pass began, the targets
	// looked at in it, when each was last looked at, when each is due
	// next and at what interval.
	passStart time.Time
	looked    map[string]bool
	lastLook  map[string]time.Time
	due       map[string]time.Time
	ival      map[string]time.Duration
	// health is the driver's memory of running health checks (health.go).
	health map[string]*checkRun
}

// record appends events through the one guarded path: each event must fit
// the state (a *TransitionError otherwise: nothing is written), the append
// names this driver's lease epoch (a lost lease writes nothing), and the
// listing row's state, end and summary change in the same transaction.
// Then the events are applied to the in-memory state.
func (r *run) record(evs ...ripcord.Event) error {
	for i := range evs {
		evs[i].ExecutionID = r.s.ID
	}
	var last int64
	fast := statusesOnly(evs)
	for attempt := 1; ; attempt++ {
		var upd *ripcord.ExecutionUpdate
		var undo func()
		var err error
		if fast {
			// The hot path (a poll's per-server news): applied to the
			// live state with an undo, instead of folded into a copy.
			// Such events never change the execution's state; the
			// summary is brought up to date at most once per MinPoll.
			if undo, err = r.applyUndoable(evs); err == nil {
				upd = projection(r.s, r.s, r.summaryIfDue(r.s))
			}
		} else {
			var after *State
			if after, err = foldCopy(r.s, evs); err == nil {
				upd = projection(r.s, after, r.summaryIfChanged(after))
			}
		}
		if err != nil {
			if attempt > 1 {
				return errReplan // what others recorded meanwhile makes this moot
			}
			return fmt.Errorf("engine: refusing to record %s: %w", evs[0].Type, err)
		}
		last, err = r.e.cfg.Store.Append(r.ctx, r.s.ID, r.s.LastSeq, r.epoch, evs, upd)
		if err == nil {
			if upd != nil && upd.Summary != nil {
				r.written, r.writtenAt = upd.Summary, r.now()
			}
			break
		}
		if undo != nil {
			undo()
		}
		if errors.Is(err, ripcord.ErrLeaseLost) {
			return r.leaseLost(err)
		}
		if ripcord.ErrorCode(err) != ripcord.ECONFLICT || attempt == 5 {
			return fmt.Errorf("record %s: %w", evs[0].Type, err)
		}
		// Someone appended since we last read: a control command
		// (`ripcord exec pause|resume|cancel|retry|skip|cleanup`) while
		// this execution runs. Read it; a result of a call already made
		// is recorded after it, a decision is made again.
		if err := r.catchUp(); err != nil {
			return err
		}
		if !allResults(evs) {
			return errReplan
		}
	}
	if fast {
		for i := range evs {
			evs[i].Seq = last - int64(len(evs)) + int64(i) + 1
		}
		r.s.LastSeq = last
		r.dirty = true
		r.recorded(evs)
		return nil
	}
	for i := range evs {
		evs[i].Seq = last - int64(len(evs)) + int64(i) + 1
		if err := r.s.apply(evs[i]); err != nil {
			return err
		}
	}
	r.dirty = true
	r.recorded(evs)
	return nil
}

// recorded logs and reports events just appended and applied.
func (r *run) recorded(evs []ripcord.Event) {
	r.logEvents(evs)
	r.e.emit(r.s, evs)
}

// statusesOnly reports whether evs are all ServerStatus events.
func statusesOnly(evs []ripcord.Event) bool {
	for _, ev := range evs {
		if ev.Type != EvServerStatus {
			return false
		}
	}
	return true
}

// applyUndoable applies ServerStatus events to the live state (each one
// guarded, as ever) and returns how to take them back if the append fails.
func (r *run) applyUndoable(evs []ripcord.Event) (undo func(), err error) {
	type saved struct {
		sv *ServerState
		v  ServerState
	}
	var saves []saved
	undo = func() {
		for i := len(saves) - 1; i >= 0; i-- {
			*saves[i].sv = saves[i].v
		}
	}
	for _, ev := range evs {
		var d ServerStatus
		if err := json.Unmarshal(ev.Data, &d); err == nil {
			if st := r.s.Steps[d.Step]; st != nil {
				if sv := st.Servers[d.Server]; sv != nil {
					c := *sv
					c.History = slices.Clone(sv.History)
					saves = append(saves, saved{sv, c})
				}
			}
		}
		ev.Seq = 0
		if err := r.s.apply(ev); err != nil {
			undo()
			return nil, err
		}
	}
	return undo, nil
}

// summaryIfDue is summaryIfChanged at most once per MinPoll of the
// engine's clock: per-server news changes only the counts, which the
// listing may show a poll late.
func (r *run) summaryIfDue(s *State) []byte {
	if !r.writtenAt.IsZero() && r.now().Sub(r.writtenAt) < r.e.cfg.MinPoll {
		return nil
	}
	return r.summaryIfChanged(s)
}

// summaryIfChanged returns the summary of after when it differs from the
// one last written, else nil.
func (r *run) summaryIfChanged(after *State) []byte {
	b, err := json.Marshal(after.Summarize(r.calls()))
	if err != nil || bytes.Equal(b, r.written) {
		return nil
	}
	return b
}

// errReplan ends a pass whose decision was made on a state that others
// have changed since (see record); the next pass decides again.
var errReplan = errors.New("the execution changed while deciding; deciding again")

// allResults reports whether evs only record what DRS answered to calls
// already made: these must be kept whatever else happened meanwhile,
// whereas a decision (a step started, a launch intended, the execution
// finished) must be made again on the new state.
func allResults(evs []ripcord.Event) bool {
	for _, ev := range evs {
		switch ev.Type {
		case EvJobCreated, EvJobAdopted, EvLaunchUnclear, EvLaunchRefused, EvTerminateJob, EvTerminateUnclear,
			EvServerStatus, EvDRSUnavailable, EvDRSRecovered, EvDriverStopped, EvRecoveryPoints,
			EvLaunchConfigsCompared, EvLaunchConfigUpdated:
		default:
			return false
		}
	}
	return true
}

// catchUp applies the events others appended to the log since this run
// last read it: the control commands recorded while the execution runs.
func (r *run) catchUp() error {
	for {
		evs, err := r.e.cfg.Store.Events(r.ctx, r.s.ID, r.s.LastSeq, 1000)
		if err != nil {
			return fmt.Errorf("read execution %s: %w", r.s.ID, err)
		}
		for _, ev := range evs {
			if err := r.s.apply(ev); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			r.dirty = true
			clear(r.due) // a person acted: look at every target again now
		}
		if len(evs) < 1000 {
			return nil
		}
	}
}

func (r *run) now() time.Time { return r.e.cfg.Clock.Now() }

func (r *run) ev(typ string, data any) ripcord.Event {
	return newEvent(typ, r.e.cfg.Actor, r.now(), data)
}

// Run drives an execution until it ends, pauses, or ctx is done. It resumes
// from the store, so it is also how a crashed execution is taken up again:
// open intents are reconciled with DRS before anything new is launched.
//
// Run first takes the execution's lease: while another driver holds a live
// one it returns a *LeaseHeldError (ECONFLICT) at once. It renews the lease
// every pass and before every DRS mutation, and stops with a
// *LostLeaseError if another driver took over. It then checks that every
// target calls DRS in its declared account (CheckTargets).
//
// ctx ending is a soft stop: a DRS mutation in flight finishes and its
// outcome is recorded, then Run returns an error wrapping ErrStopped, and
// the execution can be taken up again. A hard stop is the process's end.
func (e *Engine) Run(ctx context.Context, id string) (*State, error) {
	s, err := e.loadForRun(ctx, id)
	if err != nil {
		return nil, err
	}
	r := &run{e: e, s: s, ctx: ctx, log: e.cfg.Logger.With("execution", id), notBefore: map[string]time.Time{}, backoff: map[string]int{}, jobs: map[string]ripcord.Job{}, hookCalls: map[string]*hookCall{},
		outage: map[string]*Outage{}, failedNow: map[string]bool{}, answeredNow: map[string]bool{}, calls0: e.totalCalls(),
		lastLook: map[string]time.Time{}, due: map[string]time.Time{}, ival: map[string]time.Duration{}}
	// Every DRS request this driver sends checks, right before it leaves,
	// that the lease is still fresh (driver.go, fresh).
	r.ctx = ripcord.WithCallGuard(ctx, r.fresh)
	if s.Drivers == 0 {
		// The first driver counts every request of the clients, those
		// made to prepare the execution (resolving its servers, looking
		// for other executions) included.
		r.calls0 = 0
	}
	if s.Final() && r.settled() {
		return s, nil // nothing to drive: no lease, no record
	}
	if err := r.acquire(); err != nil {
		return r.s, err
	}
	reason := "stopped"
	wake, unregister := e.wakeChan(id)
	defer unregister()
	stopRenewing := r.keepAlive()
	defer func() {
		r.drainHooks() // while the lease is still renewed
		stopRenewing()
		if !r.crashed {
			r.release(reason)
		}
	}()
	if !r.settled() {
		if err := e.CheckTargets(ctx, s.Spec); err != nil {
			reason, r.failure = "target check failed: "+err.Error(), err.Error()
			return r.s, err
		}
	}
	// After a restart every open intent is unclear until reconciled.
	for _, b := range s.Batches {
		if b.JobID == "" && !b.Refused {
			b.Unclear = true
		}
	}
	stopped := func() (*State, error) {
		reason = "stopped on request (soft stop); in-flight DRS calls finished and were recorded"
		return r.s, fmt.Errorf("execution %s: %w; it can be taken up again with: ripcord exec resume %s", id, ErrStopped, id)
	}
	interval := e.cfg.MinPoll
	for {
		if r.settled() {
			reason = "execution " + string(r.s.State)
			return r.s, nil
		}
		if ctx.Err() != nil {
			return stopped()
		}
		r.dirty, r.failedNow, r.answeredNow = false, map[string]bool{}, map[string]bool{}
		r.passStart, r.looked = r.now(), map[string]bool{}
		err := r.renew(ctx)
		if err == nil {
			err = r.pass()
		}
		switch {
		case err == nil, errors.Is(err, errReplan):
		case errors.Is(err, errPaused):
			// Paused for an error a person must fix (or an outage
			// past its limit): the reason and remedy are recorded.
			reason, r.failure = "paused: "+r.s.PauseReason, r.s.PauseReason
			if r.s.Final() {
				reason, r.failure = "paused: "+r.endedPause, r.endedPause
			}
			if e.cfg.OnChange != nil {
				e.cfg.OnChange(r.s)
			}
			return r.s, nil
		case errors.Is(err, ErrStopped) || ctx.Err() != nil:
			return stopped()
		default:
			var lost *LostLeaseError
			if errors.Is(err, ErrCrash) {
				r.crashed = true // a test's crash: like a killed process, it records and releases nothing
			} else if errors.As(err, &lost) {
				reason = "lost the lease"
			} else {
				reason, r.failure = "error: "+err.Error(), err.Error()
			}
			return r.s, err
		}
		if err := r.outagesOver(); err != nil {
			return r.s, err
		}
		if (r.dirty || len(r.outage) > 0) && e.cfg.OnChange != nil {
			e.cfg.OnChange(r.s)
		}
		if r.settled() {
			reason = "execution " + string(r.s.State)
			return r.s, nil
		}
		// The targets' looks are scheduled by need (poll.go); with
		// none needed (a cleanup, a reconciliation) the interval is
		// the shortest after a change and doubles up to Poll.
		if r.dirty {
			interval = e.cfg.MinPoll
		} else if interval *= 2; interval > e.cfg.Poll {
			interval = e.cfg.Poll
		}
		if due := r.schedulePolls(); !due.IsZero() {
			interval = max(due.Sub(r.now()), time.Millisecond)
		}
		if len(r.hookCalls) > 0 && isVirtual(e.cfg.Clock) {
			// In virtual time a hook call takes none (hooks.go): while
			// one is in flight time stands still. A pass that changed
			// something may be followed by more at once; one that did
			// not waits for a call to return.
			if !r.dirty && !r.hooksFinished() {
				// The call wakes the driver when it returns; a wake
				// taken by the last sleep's helper (wake.go) is made
				// up for by looking again after a short real time.
				t := time.NewTimer(20 * time.Millisecond)
				select {
				case <-wake:
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return stopped()
				}
				t.Stop()
			}
			continue
		}
		if next := r.nextDeadline(); !next.IsZero() {
			if d := next.Sub(r.now()); d < interval {
				interval = max(d, time.Millisecond)
			}
		}
		if err := e.sleep(ctx, wake, interval); err != nil {
			return stopped()
		}
	}
}

// settled reports whether Run has nothing more to do: the execution ended
// (and its requested cleanup is verified), or it is paused with nothing in
// flight.
func (r *run) settled() bool {
	s := r.s
	if s.needsLaunchConfigs() {
		return false
	}
	if s.Final() {
		if s.Spec.Mode != ripcord.ModeDrill || s.Cleanup.Done {
			return true
		}
		return !s.Cleanup.Requested && s.Cleanup.Due.IsZero()
	}
	return s.Paused && !r.anyActive() && !s.Cancel && len(r.hookCalls) == 0
}

// anyActive reports whether DRS is still working on jobs of this execution.
func (r *run) anyActive() bool {
	for _, b := range r.s.Batches {
		if b.Unclear || (b.JobID == "" && !b.Refused) {
			return true
		}
		if b.JobID != "" {
			if j, ok := r.jobs[b.JobID]; !ok || j.Active() {
				if st := r.s.Steps[b.Step]; st != nil && st.Status == stepRunning || b.Terminate {
					return true
				}
			}
		}
	}
	return false
}

// nextDeadline is the earliest time a wait step ends or a delayed launch is
// due.
func (r *run) nextDeadline() time.Time {
	var t time.Time
	now := r.now()
	consider := func(x time.Time) {
		// Only what is still ahead: a passed deadline (a delay that has
		// run out) would make the loop spin at the smallest interval.
		if x.After(now) && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	for _, st := range r.s.Steps {
		if st.Status == stepRunning && st.Spec.Kind == ripcord.StepWait {
			consider(st.Started.Add(st.Spec.Duration))
		}
		consider(st.approvalDeadline())
		// Servers waiting on a blocker are given up at the conflict
		// deadline, not at the next poll after it.
		if st.Status == stepRunning && len(st.Blockers) > 0 && r.s.Spec.Settings.ConflictDeadline > 0 {
			consider(st.clockStart().Add(r.s.Spec.Settings.ConflictDeadline))
		}
	}
	for _, x := range r.notBefore {
		consider(x)
	}
	r.healthNext(consider)
	r.hooksNext(consider)
	if r.s.Final() && !r.s.Cleanup.Requested {
		consider(r.s.Cleanup.Due)
	}
	return t
}

// pass is one reconcile pass over the execution.
func (r *run) pass() error {
	s := r.s
	if err := r.catchUp(); err != nil {
		return err
	}
	r.settleOrphanHooks()
	if err := r.reconcileUnclear(); err != nil {
		return err
	}
	if err := r.poll(); err != nil {
		return err
	}
	if err := r.compareLaunchConfigs(); err != nil {
		return err
	}
	if s.needsLaunchConfigs() {
		if err := r.recordLaunchConfigs(); err != nil {
			return err
		}
	}
	if s.Final() {
		// An execution that ended before its points were read (an
		// older ripcord) has them read before its cleanup.
		if err := r.recordPoints(); err != nil {
			return err
		}
		if c := s.Cleanup; !c.Requested && !c.Due.IsZero() && !r.now().Before(c.Due) && s.Spec.Mode == ripcord.ModeDrill {
			if err := r.record(r.ev(EvCleanupRequested, struct{}{})); err != nil {
				return err
			}
		}
		return r.driveCleanup()
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		if st.Status != stepRunning {
			continue
		}
		done := r.onStep(name)
		ok, err := r.beforeHooksDone(st)
		switch {
		case err != nil || !ok:
		case st.Spec.Kind == ripcord.StepWait:
			if !r.now().Before(st.Started.Add(st.Spec.Duration)) {
				err = r.succeedStep(st, "")
			}
		case st.Spec.Kind == ripcord.StepLaunch:
			err = r.driveLaunch(st)
		case st.Spec.Kind == ripcord.StepApproval:
			err = r.driveApproval(st)
		case st.Spec.Kind == ripcord.StepCheck:
			err = r.driveCheckStep(st)
		case st.Spec.Kind == ripcord.StepHook:
			err = r.driveHookStep(st)
		}
		done()
		if err != nil {
			return err
		}
	}
	if s.Cancel {
		if err := r.finishCancel(); err != nil {
			return err
		}
		return r.driveCleanup()
	}
	if err := r.startReadySteps(); err != nil {
		return err
	}
	return r.maybeFinish()
}

// startReadySteps starts every waiting step whose dependencies succeeded,
// and skips those whose dependencies failed or were skipped when the policy
// is to continue.
func (r *run) startReadySteps() error {
	s := r.s
	if s.Paused || r.stopping() {
		return nil
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		if st.Status != stepWaiting {
			continue
		}
		ready, blocked := s.depsDone(st.Spec.After, 0)
		if blocked != "" {
			if err := r.record(r.ev(EvStepSkipped, StepFinished{Step: name, Status: stepSkipped, Reason: "step " + blocked + " did not succeed"})); err != nil {
				return err
			}
			continue
		}
		if ready {
			if err := r.record(r.ev(EvStepStarted, StepStarted{Step: name})); err != nil {
				return err
			}
			r.dueNow(st)
			done := r.onStep(name)
			ok, err := r.beforeHooksDone(st)
			if err == nil && ok && st.Spec.Kind == ripcord.StepHook {
				err = r.driveHookStep(st)
			}
			done()
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if st.Spec.Kind == ripcord.StepApproval {
				if err := r.driveApproval(st); err != nil {
					return err
				}
			}
			if st.Spec.Kind == ripcord.StepCheck {
				done := r.onStep(name)
				err := r.driveCheckStep(st)
				done()
				if err != nil {
					return err
				}
			}
			if st.Spec.Kind == ripcord.StepLaunch {
				done := r.onStep(name)
				err := r.driveLaunch(st)
				done()
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// depsDone reports whether the steps deps are done, and names one that
// did not succeed (failed, or skipped by the engine), if any. A step a
// person skipped counts as done once its own dependencies are: skipping the
// app tier lets the web tier go on, but not before the database tier the
// app tier was waiting for.
func (s *State) depsDone(deps []string, depth int) (ready bool, blocked string) {
	ready = true
	for _, dep := range deps {
		d := s.Steps[dep]
		if d == nil {
			continue
		}
		switch d.Status {
		case stepSucceeded:
		case stepSkipped:
			if !d.Manual {
				return false, dep
			}
			if depth < len(s.Order) { // plans have no cycles; bound it anyway
				r, b := s.depsDone(d.Spec.After, depth+1)
				if b != "" {
					return false, b
				}
				ready = ready && r
			}
		case stepFailed:
			return false, dep
		default:
			ready = false
		}
	}
	return ready, ""
}

// stopping reports whether the failure policy stops new steps.
func (r *run) stopping() bool {
	if r.s.Spec.Settings.FailurePolicy == ripcord.FailureContinue {
		return false
	}
	for _, st := range r.s.Steps {
		if st.Status == stepFailed {
			return true
		}
	}
	return false
}

// maybeFinish ends the execution when no step can make progress.
func (r *run) maybeFinish() error {
	s := r.s
	failed, running, waiting := "", false, false
	for _, name := range s.Order {
		switch s.Steps[name].Status {
		case stepRunning:
			running = true
		case stepWaiting:
			waiting = true
		case stepFailed:
			if failed == "" {
				failed = name
			}
		}
	}
	if running {
		return nil
	}
	// Nothing is launching: what the launched instances were launched
	// from is read now, when no launch waits for it.
	if err := r.recordPoints(); err != nil {
		return err
	}
	if s.Paused && s.PausedFor != "" && s.Steps[s.PausedFor].hookUnclear() {
		return nil // a person decides whether the hook ran (hooks.go)
	}
	if failed != "" && s.Spec.Settings.FailurePolicy == ripcord.FailurePause && !s.Paused && s.PausedFor != failed {
		return r.record(r.ev(EvExecutionPaused, StepRef{Step: failed, Reason: "step " + failed + " failed; retry it, skip it, resume or cancel"}))
	}
	if waiting && !r.stopping() {
		return nil
	}
	if waiting && s.Paused {
		return nil
	}
	if failed != "" {
		return r.finish(ripcord.ExecFailed, "step "+failed+" failed: "+s.Steps[failed].Reason)
	}
	if s.Paused {
		return nil
	}
	return r.finish(ripcord.ExecSucceeded, "")
}

func (r *run) finish(state ripcord.ExecState, reason string) error {
	return r.record(r.ev(EvExecutionFinished, ExecutionFinished{State: state, Reason: reason}))
}

// finishCancel ends a cancelled execution once DRS holds none of its jobs
// open, skipping the steps that had not started.
func (r *run) finishCancel() error {
	for _, name := range r.s.Order {
		st := r.s.Steps[name]
		if st.Status == stepWaiting {
			if err := r.record(r.ev(EvStepSkipped, StepFinished{Step: name, Status: stepSkipped, Reason: "execution cancelled"})); err != nil {
				return err
			}
		}
	}
	inFlight := false
	for _, name := range r.s.Order {
		st := r.s.Steps[name]
		if st.Status != stepRunning {
			continue
		}
		if r.hookInFlight(name) {
			inFlight = true // its call returns and is recorded first
			continue
		}
		if st.Spec.Kind == ripcord.StepLaunch {
			// Launches in flight finish first; servers not yet launched
			// (waiting on a blocker, or after a refusal) never will be.
			busy, waiting, final := false, 0, true
			for _, sv := range st.Servers {
				switch sv.Status {
				case srvRequested, srvLaunching:
					busy = true
				case srvPending:
					waiting++
				case srvLaunched, srvFailed:
				default:
					final = false
				}
			}
			if busy || (waiting == 0 && !final) {
				inFlight = true
				continue // maybeFinishStep ends it once its launches are final
			}
			if waiting == 0 {
				// Every launch ended and maybeFinishStep did not end the
				// step: it waits for after hooks, which a cancel does not
				// start (runHook).
				if err := r.record(r.ev(EvStepFinished, StepFinished{Step: name, Status: stepSkipped,
					Reason: "execution cancelled after its launches ended, before its after hooks ran"})); err != nil {
					return err
				}
				continue
			}
			if err := r.record(r.ev(EvStepFinished, StepFinished{Step: name, Status: stepSkipped,
				Reason: fmt.Sprintf("execution cancelled before %d of its servers were launched", waiting)})); err != nil {
				return err
			}
			continue
		}
		if err := r.record(r.ev(EvStepFinished, StepFinished{Step: name, Status: stepSkipped, Reason: "execution cancelled"})); err != nil {
			return err
		}
	}
	if inFlight {
		return nil
	}
	for _, name := range r.s.Order {
		if r.s.Steps[name].Status == stepRunning {
			return nil
		}
	}
	if err := r.recordPoints(); err != nil {
		return err
	}
	if r.s.Spec.Mode == ripcord.ModeDrill && !r.s.Cleanup.Requested {
		if err := r.record(r.ev(EvCleanupRequested, struct{}{})); err != nil {
			return err
		}
	}
	return r.finish(ripcord.ExecCancelled, "cancelled")
}

// jitter returns a duration drawn uniformly from [0, d): full jitter.
func (e *Engine) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return time.Duration(e.rng.Int64N(int64(d)))
}
