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
//
// Several replicas (ripcord serve processes on one PostgreSQL) share the
// work through the store alone (cluster.go). Each records a heartbeat; the
// live replicas' IDs decide, by rendezvous hashing of an execution's first
// DRS target (its account, region, role and endpoint; the least of them
// for a plan with several), which replica is its home. The home drives
// it; the others serve its API and console. Executions in one DRS target
// therefore gather on one replica, which polls the target once for all of
// them and makes their launch decisions under one quota keeper, while
// executions in other accounts and regions spread across the replicas. (A
// plan with several targets is homed by one of them: its other targets
// may also be polled by their own homes. The launch mutex per target and
// each replica's share of the rate hold across replicas all the same.) Placement decides who takes up an
// execution nobody drives; one that is driven stays where it is when the
// live set changes (moving it would cost a handover for nothing, and a
// rolling restart would move everything twice). A replica that stops
// gracefully leaves the registry first and then releases its leases (its
// drivers stop softly: the DRS call in flight finishes and is recorded),
// so its executions move at once, when the store's notes of the released
// leases reach the new homes; one that dies stops renewing its heartbeat
// and leases, and its executions move when they expire. An execution whose home does not drive it (a home that is up but
// cannot reach DRS, say) is taken by any replica once its lease has been
// expired for ReplicaTTL.
package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
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

	// Replica names this process among the replicas that share the store
	// (ID from ripcord.NewReplicaID). With an empty ID the supervisor is
	// alone: it records no heartbeat, listens to no notes, and drives
	// every execution that needs a driver.
	Replica ripcord.Replica
	// Heartbeat is how often the replica records that it is live
	// (default 2s); ReplicaTTL how long a heartbeat counts (default 5
	// heartbeats).
	Heartbeat, ReplicaTTL time.Duration
	// OwnerGone, when set, reports whether a lease holder or replica is
	// known to be gone (a process of this host that ended): its leases
	// and heartbeat then count as expired at once.
	OwnerGone func(ripcord.LeaseOwner) bool

	// Schedules is how often the saved plans' schedules are looked at
	// (schedule.go; 0: never). The first look is at start-up.
	Schedules time.Duration
	// OnSchedule, when set, hears of every scheduled drill started, and of
	// every one that could not start (once per slot).
	OnSchedule func(ScheduledRun)
}

// Supervisor drives executions; see the package documentation.
type Supervisor struct {
	cfg     Config
	mu      sync.Mutex
	engines map[string]*engine.Engine // by the canonical JSON of the targets
	clients map[string]ripcord.DRS    // by the canonical JSON of one target
	// driving holds the executions with a driver in this process, with
	// the function that stops it softly.
	driving map[string]context.CancelFunc
	ctx     context.Context // Run's: drivers stop softly when it ends
	wg      sync.WaitGroup

	keys  map[string]string // execution ID -> the key of its targets
	live  []ripcord.Replica // the live replicas at the last heartbeat
	known map[string]bool   // running executions at the last scan
	conns []ripcord.DRS     // every DRS client made, for SetShare
	kick  chan struct{}     // asks for a scan now
	// failed holds the executions whose driver failed (not for a lease:
	// for a target it cannot reach, say), with when to try again: scans
	// and notes do not drive them before, so that a failure repeats at a
	// growing interval instead of as fast as notes come.
	failed map[string]backoff
	sched  scheduleState // guarded by mu
}

// backoff is how often a driver failed in a row, and when to try again.
type backoff struct {
	n  int
	at time.Time
}

// maxBackoff bounds the wait before a failed driver is tried again.
const maxBackoff = 5 * time.Minute

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
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.ReplicaTTL <= 0 {
		cfg.ReplicaTTL = 5 * cfg.Heartbeat
	}
	if cfg.OwnerGone == nil {
		cfg.OwnerGone = func(ripcord.LeaseOwner) bool { return false }
	}
	return &Supervisor{cfg: cfg, engines: map[string]*engine.Engine{}, clients: map[string]ripcord.DRS{},
		driving: map[string]context.CancelFunc{}, keys: map[string]string{}, known: map[string]bool{}, kick: make(chan struct{}, 1),
		failed: map[string]backoff{}}
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
	// The drivers run on a context of their own, ended after this replica
	// has left the registry, so that the replicas that take up the leases
	// they release see this one gone; and the heartbeats and the notes stop
	// before it leaves, so that no heartbeat in flight brings it back.
	driveCtx, stopDrivers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDrivers()
	bgCtx, stopBG := context.WithCancel(ctx)
	s.mu.Lock()
	s.ctx = driveCtx
	s.mu.Unlock()
	var bg sync.WaitGroup
	defer func() {
		s.mu.Lock()
		s.ctx = nil
		s.mu.Unlock()
		stopBG()
		bg.Wait()
		if s.cfg.Replica.ID != "" {
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.cfg.Store.Leave(lctx, s.cfg.Replica.ID); err != nil {
				s.cfg.Logger.Warn("leaving the replicas failed; the others notice when the heartbeat expires", "err", err)
			}
			cancel()
		}
		stopDrivers()
		s.wg.Wait()
	}()
	if s.cfg.Replica.ID != "" {
		s.beat(bgCtx)
		bg.Add(2)
		go func() { defer bg.Done(); s.heartbeats(bgCtx) }()
		go func() { defer bg.Done(); s.listen(bgCtx) }()
	}
	if s.cfg.Schedules > 0 {
		bg.Add(1)
		go func() { defer bg.Done(); s.schedules(bgCtx) }()
	}
	for {
		if err := s.TakeOver(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("looking for executions to take over failed; trying again", "err", err)
		}
		if !s.wait(ctx, s.cfg.Scan, s.kick) {
			return nil
		}
	}
}

// wait sleeps d on the clock, or until kick; false when ctx ended.
func (s *Supervisor) wait(ctx context.Context, d time.Duration, kick <-chan struct{}) bool {
	sctx, cancel := context.WithCancel(ctx)
	slept := make(chan struct{})
	go func() { _ = s.cfg.Clock.Sleep(sctx, d); close(slept) }()
	select {
	case <-slept:
	case <-kick:
	}
	cancel()
	<-slept
	return ctx.Err() == nil
}

// scanSoon asks Run for a scan now (one is enough for many asks).
func (s *Supervisor) scanSoon() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// heartbeats records this replica as live every Heartbeat until ctx ends.
func (s *Supervisor) heartbeats(ctx context.Context) {
	for s.wait(ctx, s.cfg.Heartbeat, nil) {
		s.beat(ctx)
	}
}

// beat records one heartbeat and takes up the live replicas it answers:
// a change asks for a scan (executions may have a new home) and gives each
// DRS client its share of the rate.
func (s *Supervisor) beat(ctx context.Context) {
	live, err := s.cfg.Store.Heartbeat(ctx, s.cfg.Replica, s.cfg.ReplicaTTL)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("recording this replica's heartbeat failed; trying again", "err", err)
		}
		return
	}
	live = slices.DeleteFunc(live, func(r ripcord.Replica) bool {
		return r.ID != s.cfg.Replica.ID && s.cfg.OwnerGone(r.Owner)
	})
	s.mu.Lock()
	changed := !slices.EqualFunc(live, s.live, func(a, b ripcord.Replica) bool { return a.ID == b.ID })
	s.live = live
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	if changed {
		s.cfg.Logger.Info("live replicas changed", "replicas", len(live))
		for _, c := range conns {
			s.share(c, len(live))
		}
		s.scanSoon()
	}
}

// sharer is implemented by DRS clients that can send a share of their
// configured rate (drs.Client): n replicas together send no more than one.
type sharer interface{ SetShare(n int) }

func (s *Supervisor) share(c ripcord.DRS, n int) {
	if sh, ok := c.(sharer); ok {
		sh.SetShare(n)
	}
}

// listen follows the store's notes: a released lease, a replica that came
// or went, lost notes, or events of an execution this replica neither
// drives nor saw running ask for a scan.
func (s *Supervisor) listen(ctx context.Context) {
	for ctx.Err() == nil {
		notes, err := s.cfg.Store.Subscribe(ctx)
		if err != nil {
			s.cfg.Logger.Warn("listening to the store's notes failed; scans continue", "err", err)
			if !s.wait(ctx, s.cfg.Heartbeat, nil) {
				return
			}
			continue
		}
		for n := range notes {
			switch n.Kind {
			case ripcord.NoteReplicas:
				s.beat(ctx)
				s.scanSoon()
			case ripcord.NoteLease, ripcord.NoteResync:
				s.scanSoon()
			case ripcord.NoteEvents:
				s.mu.Lock()
				_, driving := s.driving[n.ID]
				news := !driving && !s.known[n.ID]
				s.mu.Unlock()
				if news {
					s.scanSoon()
				}
			}
		}
	}
}

// home reports whether this replica is the home of executions on the
// targets with key: the live replica with the highest rendezvous hash of
// its ID and key. Alone, or knowing no live replica, it is.
func (s *Supervisor) home(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Replica.ID == "" || len(s.live) == 0 {
		return true
	}
	var best string
	var top uint64
	for _, r := range s.live {
		h := fnv.New64a()
		h.Write([]byte(r.ID))
		h.Write([]byte{0})
		h.Write([]byte(key))
		if v := h.Sum64(); best == "" || v > top {
			best, top = r.ID, v
		}
	}
	return best == s.cfg.Replica.ID
}

// keyOf returns the placement key of execution id: the least identity of
// its DRS targets (cached: an execution's targets never change).
func (s *Supervisor) keyOf(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	key, ok := s.keys[id]
	s.mu.Unlock()
	if ok {
		return key, nil
	}
	probe := engine.New(engine.Config{Store: s.cfg.Store})
	spec, err := probe.Spec(ctx, id)
	if err != nil {
		return "", err
	}
	key = placementKey(spec.Targets)
	s.mu.Lock()
	s.keys[id] = key
	s.mu.Unlock()
	return key, nil
}

// placementKey is the least identity of targets, where a target's identity
// is what DRS it calls: account, region, role and endpoint, not its name
// (which means something only within its plan).
func placementKey(targets []ripcord.Target) string {
	key := ""
	for i, t := range targets {
		id := strings.Join([]string{t.Account, t.Region, t.RoleARN, t.Endpoint}, "|")
		if i == 0 || id < key {
			key = id
		}
	}
	return key
}

// failedNow records that execution id's driver failed and returns how long
// until it is tried again: the scan interval, doubling with every failure
// in a row, up to maxBackoff.
func (s *Supervisor) failedNow(id string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.failed[id]
	d := max(s.cfg.Scan, time.Second)
	for i := 0; i < b.n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	s.failed[id] = backoff{n: b.n + 1, at: s.cfg.Clock.Now().Add(d)}
	return d
}

// waiting reports whether execution id's driver failed and is not to be
// tried again yet.
func (s *Supervisor) waiting(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.failed[id]
	return ok && s.cfg.Clock.Now().Before(b.at)
}

// ours reports whether this replica should drive execution id now, given
// its lease: nobody holds it live, and this replica is its home or the
// lease (or, never leased, the execution) has waited ReplicaTTL for one.
func (s *Supervisor) ours(ctx context.Context, id string, started time.Time) (bool, error) {
	if s.waiting(id) {
		return false, nil
	}
	l, err := s.cfg.Store.Lease(ctx, id)
	if err != nil {
		return false, err
	}
	// Judged on this process's clock, which may disagree with the
	// store's: a lease that looks live here but has expired there is
	// taken over at a later scan, at most the clocks' difference late;
	// one that looks expired but is live is refused by the store (Run's
	// LeaseHeldError).
	now := s.cfg.Clock.Now()
	if l.Live(now) && !s.cfg.OwnerGone(l.Owner) {
		return false, nil
	}
	key, err := s.keyOf(ctx, id)
	if err != nil {
		return false, err
	}
	if s.home(key) {
		return true, nil
	}
	since := l.Expires
	if l.Epoch == 0 {
		since = started
	}
	return now.Sub(since) > s.cfg.ReplicaTTL, nil
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
	known := map[string]bool{}
	for _, x := range running {
		known[x.ID] = true
		s.mu.Lock()
		_, driving := s.driving[x.ID]
		s.mu.Unlock()
		if driving {
			continue
		}
		// A live lease is another driver's: leave it without folding
		// the execution.
		mine, err := s.ours(ctx, x.ID, x.Started)
		if err != nil {
			return err
		}
		if mine {
			ids = append(ids, x.ID)
		}
	}
	s.mu.Lock()
	s.known = known
	s.mu.Unlock()
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
			if sum.Cleanup == "requested" || sum.Cleanup == "failed" || sum.Cleanup == "scheduled" && !s.cfg.Clock.Now().Before(sum.CleanupDue) {
				if s.Driving(x.ID) {
					continue
				}
				if mine, err := s.ours(ctx, x.ID, x.Ended); err != nil {
					return err
				} else if mine {
					ids = append(ids, x.ID)
				}
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
	return b, s.driveIfHome(ctx, b.ID)
}

// driveIfHome drives execution id if this replica is its home; otherwise
// its home takes it up on the note of its new events (or at its next
// scan).
func (s *Supervisor) driveIfHome(ctx context.Context, id string) error {
	key, err := s.keyOf(ctx, id)
	if err != nil {
		return err
	}
	if !s.home(key) {
		return nil
	}
	return s.Drive(id)
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
	s.mu.Lock()
	delete(s.failed, id) // a person's command is tried at once
	s.mu.Unlock()
	return s.driveIfHome(ctx, id)
}

// Decide records a person's decision on an approval step ("approve" or
// "reject") through the engine's guarded path, then makes sure a driver
// acts on it. Who may decide is the caller's to check.
func (s *Supervisor) Decide(ctx context.Context, id, decision, actor string, rq engine.ApprovalRequest) error {
	eng, err := s.engineOf(ctx, id)
	if err != nil {
		return err
	}
	switch decision {
	case "approve":
		err = eng.Approve(ctx, id, actor, rq)
	case "reject":
		err = eng.Reject(ctx, id, actor, rq)
	default:
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("unknown decision %q", decision), Hint: "decisions are approve and reject"}
	}
	if err != nil {
		return err
	}
	return s.driveIfHome(ctx, id)
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
	if _, ok := s.driving[id]; ok {
		s.mu.Unlock()
		return nil
	}
	ctx, stop := context.WithCancel(ctx)
	s.driving[id] = stop
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer stop()
		st, err := s.drive(ctx, id)
		s.mu.Lock()
		delete(s.driving, id)
		s.mu.Unlock()
		var held *engine.LeaseHeldError
		var lost *engine.LostLeaseError
		cleanupFailed := err == nil && st != nil && st.Final() && st.Cleanup.Requested && !st.Cleanup.Done && st.Cleanup.Failed != ""
		switch {
		case cleanupFailed:
			// Shown on the execution and notified (engine): it is tried
			// again with the same backoff as a failed driver, not at
			// every scan.
			retry := s.failedNow(id)
			s.cfg.Logger.Warn("a drill's cleanup failed; it is tried again", "execution", id, "reason", st.Cleanup.Failed, "retry_in", retry)
		case err == nil, errors.As(err, &held), errors.Is(err, engine.ErrStopped):
		case errors.As(err, &lost):
			s.cfg.Logger.Warn("lost the lease of an execution: another replica drives it now; this one stopped before calling DRS again", "execution", id, "err", err)
		default:
			retry := s.failedNow(id)
			s.cfg.Logger.Error("driving an execution failed; it stays resumable, and is tried again", "execution", id, "err", err, "retry_in", retry)
		}
		if err == nil && !cleanupFailed {
			s.mu.Lock()
			delete(s.failed, id)
			s.mu.Unlock()
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
	_, ok := s.driving[id]
	return ok
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

// connect makes DRS clients for targets and gives each its share of the
// rate among the live replicas.
func (s *Supervisor) connect(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error) {
	clients, err := s.cfg.Connect(ctx, targets)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	n := max(len(s.live), 1)
	for _, name := range slices.Sorted(maps.Keys(clients)) {
		s.conns = append(s.conns, clients[name])
	}
	s.mu.Unlock()
	for _, c := range clients {
		s.share(c, n)
	}
	return clients, nil
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
	clients, err := s.connect(ctx, targets)
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
	api, err := s.inventoryClient(ctx, t)
	if err != nil {
		return nil, err
	}
	return api.ListSourceServers(ctx, nil)
}

// Clients returns a DRS client for each of targets, by target name, for
// work beside the executions (the console's inventory, readiness checks):
// each is connected once per target definition and, like the engines'
// clients, given this replica's share of the rate, so the replicas
// together stay within it.
func (s *Supervisor) Clients(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error) {
	out := make(map[string]ripcord.DRS, len(targets))
	for _, t := range targets {
		api, err := s.inventoryClient(ctx, t)
		if err != nil {
			return nil, err
		}
		out[t.Name] = api
	}
	return out, nil
}
