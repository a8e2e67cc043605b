package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// This file holds what makes one driver the only one: the execution's
// lease, the soft stop, the checks made before anything is launched
// (accounts, concurrent executions), and how DRS failures end or show.

var (
	ownerMu   sync.Mutex
	ownerLast time.Time
)

// defaultOwner is this host and process. Started is when the Engine was
// made, distinct for every Engine of the process (a microsecond apart at
// least), so that two engines in one process are two owners.
func defaultOwner() ripcord.LeaseOwner {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	ownerMu.Lock()
	defer ownerMu.Unlock()
	t := ripcord.StoreTime(time.Now())
	if !t.After(ownerLast) {
		t = ownerLast.Add(time.Microsecond)
	}
	ownerLast = t
	return ripcord.LeaseOwner{Host: host, PID: os.Getpid(), Started: t}
}

// LeaseHeldError is Run's answer when another driver holds the execution's
// live lease. Its code is ECONFLICT.
type LeaseHeldError struct {
	Lease ripcord.Lease
	Err   error
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("execution %s is being driven by %s (lease epoch %d, expires %s)", e.Lease.ExecutionID,
		e.Lease.Owner, e.Lease.Epoch, e.Lease.Expires.UTC().Format(time.RFC3339))
}

// Unwrap gives the store's ECONFLICT error, for ripcord.ErrorCode.
func (e *LeaseHeldError) Unwrap() error {
	return &ripcord.Error{Code: ripcord.ECONFLICT, Message: e.Error(),
		Hint: fmt.Sprintf("follow it with: ripcord exec watch %s; or wait for it with: ripcord exec resume --wait %s", e.Lease.ExecutionID, e.Lease.ExecutionID)}
}

// ErrStopped is in the chain of Run's error after a soft stop (ctx done):
// the mutation in flight finished and was recorded, and the execution can
// be taken up again with Run.
var ErrStopped = errors.New("stopped")

// LostLeaseError is Run's error when another driver took the execution
// over: this one recorded nothing more and called nothing more.
type LostLeaseError struct{ Err error }

func (e *LostLeaseError) Error() string {
	return "this ripcord process lost the execution's lease and stopped: " + e.Err.Error()
}
func (e *LostLeaseError) Unwrap() error { return e.Err }

// acquire takes the execution's lease, taking over one whose holder is
// known to be gone, and records who drives.
func (r *run) acquire() error {
	e := r.e
	l, err := e.cfg.Store.AcquireLease(r.ctx, r.s.ID, e.cfg.Owner, e.cfg.LeaseTTL)
	var tookOver *ripcord.LeaseOwner
	if err != nil && ripcord.ErrorCode(err) == ripcord.ECONFLICT && l.Epoch > 0 {
		held := l
		if e.cfg.OwnerGone == nil || !e.cfg.OwnerGone(held.Owner) {
			return &LeaseHeldError{Lease: held, Err: err}
		}
		// The holder's process is gone: end its lease (fenced by its
		// epoch, so a concurrent taker cannot be undone) and take it.
		if rerr := e.cfg.Store.ReleaseLease(r.ctx, held); rerr != nil && !errors.Is(rerr, ripcord.ErrLeaseLost) {
			return fmt.Errorf("take over execution %s from %s: %w", r.s.ID, held.Owner, rerr)
		}
		l, err = e.cfg.Store.AcquireLease(r.ctx, r.s.ID, e.cfg.Owner, e.cfg.LeaseTTL)
		if err != nil && ripcord.ErrorCode(err) == ripcord.ECONFLICT && l.Epoch > 0 {
			return &LeaseHeldError{Lease: l, Err: err}
		}
		tookOver = &held.Owner
	}
	if err != nil {
		return fmt.Errorf("take the lease of execution %s: %w", r.s.ID, err)
	}
	r.lease, r.epoch, r.heldAt = l, l.Epoch, time.Now() // before keepAlive starts
	// The log may have moved on while we waited.
	if err := r.catchUp(); err != nil {
		return err
	}
	// A command recorded meanwhile (a cleanup scheduled right after the
	// execution was created, a pause) makes record catch up and refuse
	// to decide on the old state: the driver's start is recorded after it.
	for attempt := 1; ; attempt++ {
		err := r.record(r.ev(EvDriverStarted, DriverStarted{Owner: e.cfg.Owner, Epoch: l.Epoch, TookOver: tookOver}))
		if !errors.Is(err, errReplan) || attempt == 10 {
			return err
		}
	}
}

// renew extends the lease; a lost lease stops the driver. It is called
// every pass and right before every DRS mutation, so that a driver that
// was taken over never calls DRS again.
func (r *run) renew(ctx context.Context) error {
	l, err := r.e.cfg.Store.RenewLease(ctx, r.currentLease(), r.e.cfg.LeaseTTL)
	if err != nil {
		if errors.Is(err, ripcord.ErrLeaseLost) {
			return r.leaseLost(err)
		}
		return fmt.Errorf("renew the lease of execution %s: %w", r.s.ID, err)
	}
	r.setLease(l)
	return nil
}

func (r *run) currentLease() ripcord.Lease {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	return r.lease
}

func (r *run) setLease(l ripcord.Lease) {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	if l.Epoch == r.lease.Epoch && l.Expires.After(r.lease.Expires) {
		r.lease = l
	}
	if l.Epoch == r.lease.Epoch {
		r.heldAt = time.Now()
	}
}

// fresh makes sure the driver still holds its lease before it calls DRS.
// The lease is renewed every pass, before every mutation and every third
// of its TTL in the background; but a process that was stopped (SIGSTOP,
// a stalled VM) and continued may be in the middle of a pass, long after
// its lease expired and another replica took the execution over. So when
// more than half the TTL of wall time (monotonic: a stopped process
// sees the time it was stopped) passed since the store last confirmed the
// lease, the store is asked again, and a lost lease stops the driver
// before the call.
func (r *run) fresh() error {
	if r.epoch == 0 {
		return nil // no lease taken (yet): nothing to lose
	}
	r.leaseMu.Lock()
	at := r.heldAt
	r.leaseMu.Unlock()
	if time.Since(at) < r.e.cfg.LeaseTTL/2 {
		return nil
	}
	return r.renew(r.ctx)
}

// api returns target's DRS client for a call this driver makes, once its
// lease is known to be fresh.
func (r *run) api(target string) (ripcord.DRS, error) {
	if err := r.fresh(); err != nil {
		return nil, err
	}
	return r.e.cfg.Targets[target], nil
}

// keepAlive renews the lease in the background every third of its TTL of
// wall time, so that a pass slowed by DRS (many pages at a low rate limit,
// SDK retries) does not let it lapse and another process take over in the
// middle. The fence stays in the appends: a renewal that finds the lease
// lost changes nothing, and the driver's next append or mutation stops it.
// A process that dies stops renewing, and its lease expires.
func (r *run) keepAlive() (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.e.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if l, err := r.e.cfg.Store.RenewLease(ctx, r.currentLease(), r.e.cfg.LeaseTTL); err == nil {
					r.setLease(l)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (r *run) leaseLost(err error) error {
	r.lost = true
	return &LostLeaseError{Err: err}
}

// release records why this driver stops and gives the lease up, so that
// the next driver need not wait for it to expire. It runs on a context of
// its own: a soft stop must still say so.
func (r *run) release(reason string) {
	if r.epoch == 0 || r.lost {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.e.cfg.MutationTimeout)
	defer cancel()
	saved := r.ctx
	r.ctx = ctx
	defer func() { r.ctx = saved }()
	d := DriverStopped{Epoch: r.epoch, Reason: reason, DRSCalls: r.calls()}
	if c := r.s.Cleanup; r.s.Final() && c.Requested && !c.Done {
		d.CleanupFailed = r.failure
	}
	if err := r.record(r.ev(EvDriverStopped, d)); err != nil {
		r.logger().Warn("recording the driver's stop failed", "err", err)
	}
	l := r.currentLease()
	if err := r.e.cfg.Store.ReleaseLease(ctx, l); err != nil && !errors.Is(err, ripcord.ErrLeaseLost) {
		r.logger().Warn("releasing the lease failed; it expires on its own", "expires", l.Expires, "err", err)
	}
}

// counter is implemented by DRS clients that count their requests
// (drs.Client): the summary's DRS call count is theirs.
type counter interface{ Calls() map[string]int64 }

// totalCalls sums the requests of the targets' clients.
func (e *Engine) totalCalls() int64 {
	var n int64
	for _, t := range e.cfg.Targets {
		if c, ok := t.(counter); ok {
			for _, v := range c.Calls() {
				n += v
			}
		}
	}
	return n
}

// calls is how many DRS requests this driver has made so far.
func (r *run) calls() int64 { return r.e.totalCalls() - r.calls0 }

// mutation runs fn, a DRS mutation and the recording of its outcome, on a
// context that a soft stop does not cancel: it finishes (bounded by
// MutationTimeout) so that its outcome is recorded. The lease is renewed
// first: a driver that lost it calls nothing.
func (r *run) mutation(fn func() error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.e.cfg.MutationTimeout)
	defer cancel()
	if err := r.renew(ctx); err != nil {
		return err
	}
	saved := r.ctx
	r.ctx = ctx
	defer func() { r.ctx = saved }()
	return fn()
}

// errPaused ends a pass after the execution was paused for an error.
var errPaused = errors.New("paused")

// drsFailed decides what a failed DRS read means: a transient failure
// (5xx, timeout, connection, throttling) is recorded as an outage of the
// target, shown while ripcord keeps trying, until it lasts longer than the
// outage limit; a permanent one (access denied, bad credentials,
// validation) pauses the execution with the reason and a remedy. It
// returns nil when the pass may go on, errPaused when it must end.
func (r *run) drsFailed(target, op string, err error) error {
	if lost := (*LostLeaseError)(nil); errors.As(err, &lost) {
		return err // not DRS's failure: another driver took over (fresh)
	}
	switch ripcord.Classify(err) {
	case ripcord.ClassTransient, ripcord.ClassThrottling, ripcord.ClassConflict, ripcord.ClassQuota:
		if r.ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrStopped, r.ctx.Err())
		}
		return r.outageSeen(target, op, err)
	}
	return r.pauseFor(fmt.Sprintf("DRS %s in target %s failed: %v", op, target, err), remedyOf(err))
}

// remedyOf is the hint of err, or a general one; "{execution}" stands for
// the execution's ID (pauseFor fills it in).
func remedyOf(err error) string {
	if h := ripcord.ErrorHint(err); h != "" {
		return h + "; then: ripcord exec resume {execution}"
	}
	return "fix the cause, then: ripcord exec resume {execution}"
}

// pauseFor pauses the execution for an error a person must fix.
func (r *run) pauseFor(reason, remedy string) error {
	r.logger().Error("execution paused", "reason", reason, "remedy", remedy)
	remedy = strings.ReplaceAll(remedy, "{execution}", r.s.ID)
	if r.s.Final() {
		// An ended execution cannot pause (its cleanup is what
		// stopped): the driver's stop records why (Run), and the fold
		// shows the cleanup failed (CleanupState.Failed).
		r.endedPause = reason
		if remedy != "" {
			r.endedPause += "; " + remedy
		}
		return errPaused
	}
	if err := r.record(r.ev(EvExecutionPaused, StepRef{Reason: reason, Remedy: remedy})); err != nil {
		return err
	}
	return errPaused
}

// outageSeen counts a transient failure in target. The first is recorded
// at once (so `exec show` tells within one poll), later ones at 2, 4, 8,
// ... attempts; past the outage limit the execution pauses.
func (r *run) outageSeen(target, op string, err error) error {
	now := r.now()
	o := r.outage[target]
	if o == nil {
		o = &Outage{Target: target, Since: now}
		r.outage[target] = o
	}
	o.Op, o.Error = op, err.Error()
	o.Attempts++
	r.logger().Warn("DRS call failed; will try again", "target", target, "op", op, "since", o.Since, "attempts", o.Attempts, "err", err)
	r.failedNow[target] = true
	limit := r.s.Spec.Settings.OutageLimit
	if limit <= 0 {
		limit = r.e.cfg.OutageLimit
	}
	if now.Sub(o.Since) >= limit {
		return r.pauseFor(fmt.Sprintf("DRS in target %s has failed for %s (%d attempts; last %s: %v)", target,
			now.Sub(o.Since).Round(time.Second), o.Attempts, op, err),
			"check DRS's health and the network path to it; the execution goes on with: ripcord exec resume {execution}")
	}
	if o.Attempts&(o.Attempts-1) == 0 { // 1, 2, 4, 8, ...
		return r.record(r.ev(EvDRSUnavailable, DRSUnavailable{Target: target, Op: op, Error: o.Error, Since: o.Since, Attempts: o.Attempts}))
	}
	return nil
}

// heard notes that DRS in target answered a call (err == nil): the
// evidence that ends an outage.
func (r *run) heard(target string, err error) {
	if err == nil {
		r.answeredNow[target] = true
	}
}

// outagesOver ends, at the end of a pass, the outage of every target that
// answered in it and did not fail in it.
func (r *run) outagesOver() error {
	for _, t := range sortedKeys(r.outage) {
		if !r.answeredNow[t] || r.failedNow[t] {
			continue
		}
		attempts := r.outage[t].Attempts
		delete(r.outage, t)
		if err := r.record(r.ev(EvDRSRecovered, DRSRecovered{Target: t, Attempts: attempts})); err != nil {
			return err
		}
	}
	return nil
}

// CheckTargets makes sure every target of spec that has servers calls DRS
// in the account it declares, before anything is launched (CheckAccounts).
// A target this Engine has checked already is not asked again: `run`
// checks before it records the execution, then Run would check again.
func (e *Engine) CheckTargets(ctx context.Context, spec Spec) error {
	used := map[string]bool{}
	for _, st := range spec.Steps {
		for _, sv := range st.Servers {
			used[sv.Target] = true
		}
	}
	var targets []ripcord.Target
	for _, t := range spec.Targets {
		if _, done := e.checked.Load(t); used[t.Name] && !done {
			targets = append(targets, t)
		}
	}
	if err := CheckAccounts(ctx, targets, e.cfg.Targets); err != nil {
		return err
	}
	for _, t := range targets {
		e.checked.Store(t, true)
	}
	return nil
}

// CheckAccounts asks each target's DRS connection for its caller identity
// (after assuming the target's role) and compares its account with the
// one the target declares. Two targets in one account and region are
// refused: they would launch the same servers twice. Errors are EINVALID
// (a person must fix the plan or the credentials; every problem is named)
// or EUNAVAILABLE (STS did not answer). A readiness check uses it too: a
// check that looks at the wrong account is worse than none.
func CheckAccounts(ctx context.Context, targets []ripcord.Target, apis map[string]ripcord.DRS) error {
	where := map[string]string{} // account/region -> target
	var problems []string
	for _, t := range targets {
		api := apis[t.Name]
		if api == nil {
			problems = append(problems, fmt.Sprintf("target %s has no DRS connection", t.Name))
			continue
		}
		id, err := api.CallerIdentity(ctx)
		if err != nil {
			if ripcord.Classify(err) == ripcord.ClassTransient {
				return &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: fmt.Sprintf("target %s: checking the account failed: %v", t.Name, err),
					Hint: "STS did not answer; try again"}
			}
			problems = append(problems, fmt.Sprintf("target %s: cannot check its account: %v", t.Name, err))
			if h := ripcord.ErrorHint(err); h != "" {
				problems[len(problems)-1] += " (" + h + ")"
			}
			continue
		}
		if t.Account != "" && id.Account != t.Account {
			via := "the credentials in use"
			if t.RoleARN != "" {
				via = "role " + t.RoleARN
			}
			problems = append(problems, fmt.Sprintf("target %s is declared in account %s, but %s call AWS as account %s (%s)",
				t.Name, t.Account, via, id.Account, id.ARN))
		}
		key := id.Account + "/" + t.Region
		if other, dup := where[key]; dup {
			problems = append(problems, fmt.Sprintf("targets %s and %s both reach account %s in %s: the same servers would be launched twice",
				other, t.Name, id.Account, t.Region))
		}
		where[key] = t.Name
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &ripcord.Error{Code: ripcord.EINVALID, Message: "targets do not match their accounts:\n  " + strings.Join(problems, "\n  "),
		Hint: "fix the target's account, role ARN or external ID in the plan, or run with the credentials of the declared account; nothing was launched"}
}

// CheckConcurrent looks in DRS, in every target of spec, for an active job
// tagged with the same plan by another execution: another ripcord (with
// another store) is running the plan. It returns ECONFLICT naming it.
func (e *Engine) CheckConcurrent(ctx context.Context, id string, spec Spec) error {
	for _, name := range specTargets(spec) {
		if e.cfg.Targets[name] == nil {
			continue
		}
		if err := e.refreshView(ctx, name, e.cfg.Clock.Now()); err != nil {
			return fmt.Errorf("target %s: looking for other executions of plan %s: %w", name, spec.Plan, err)
		}
		for _, j := range e.activeJobs(name) {
			if j.Tags[ripcord.TagPlan] == spec.Plan && j.Tags[ripcord.TagExecution] != "" && j.Tags[ripcord.TagExecution] != id {
				return &ripcord.Error{Code: ripcord.ECONFLICT,
					Message: fmt.Sprintf("plan %s is being run by execution %s: its job %s (%s) is active in target %s",
						spec.Plan, j.Tags[ripcord.TagExecution], j.ID, j.Status, name),
					Hint: "wait for that execution to end (it may live in another ripcord store), or run anyway with --allow-concurrent"}
			}
		}
	}
	return nil
}

// specTargets lists the targets spec's servers are in, sorted.
func specTargets(spec Spec) []string {
	set := map[string]bool{}
	for _, st := range spec.Steps {
		for _, sv := range st.Servers {
			set[sv.Target] = true
		}
	}
	return sortedKeys(set)
}
