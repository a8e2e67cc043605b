package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Hooks of a step (ripcord.Hook): a hook step's own hook, and any step's
// before and after hooks. Each attempt is an intent and a result:
//
//	HookStarted (attempt n) ─┬─ HookSucceeded
//	                         └─ HookFailed ─▶ (retries left, after the backoff) HookStarted (attempt n+1)
//	                                      └─ (none left, Final) ─▶ StepFinished failed (failure policy)
//	a hook that does not run in the execution's mode: HookSkipped
//
// A step's hooks run one at a time, in the step's order: the before hooks
// when the step starts (its own work waits for them), a hook step's hook,
// and the after hooks once the step's own work succeeded (the step
// succeeds after them). Each call runs beside the driver (hookCall): the
// driver records the intent, starts the call and goes on with the other
// steps, so a long SSM document or a slow endpoint holds up only its own
// step; the driver records the result when the call returns (a stop waits
// for calls in flight and records them). In virtual time (a clock whose
// Sleep moves time, as in the demo and the tests) time does not move while
// a call is in flight: a call takes no virtual time, as DRS's jobs take no
// real time there. A HookStarted with no result when a driver takes the
// execution up is unclear: the call may have had its effect. An idempotent
// hook runs again; any other pauses the execution with the step failed,
// for a person to retry it (the hook is called again) or skip it
// (dependents go on).
const (
	EvHookStarted   = "HookStarted"
	EvHookSucceeded = "HookSucceeded"
	EvHookFailed    = "HookFailed"
	EvHookSkipped   = "HookSkipped"
)

// Phases of a step's hooks.
const (
	HookBefore = "before"
	HookOwn    = "hook" // a hook step's own hook
	HookAfter  = "after"
)

// Hook statuses in HookState.Status.
const (
	hookRunning   = "RUNNING"
	hookSucceeded = "SUCCEEDED"
	hookFailed    = "FAILED"
	hookSkipped   = "SKIPPED"
)

type (
	// HookRef names one hook of a step: its phase, its index in the
	// phase's list and its name.
	HookRef struct {
		Step  string `json:"step"`
		Phase string `json:"phase"`
		Index int    `json:"index"`
		Hook  string `json:"hook"`
	}
	// HookStarted is the data of EvHookStarted: the intent, recorded
	// before the call. What says what is called (a URL without its query,
	// a document, a program), never a header or a secret.
	HookStarted struct {
		HookRef
		Kind       string `json:"kind"`
		Attempt    int    `json:"attempt"`
		What       string `json:"what,omitempty"`
		Idempotent bool   `json:"idempotent,omitempty"`
	}
	// HookResult is the data of EvHookSucceeded and EvHookFailed.
	// Status is the HTTP status, the SSM status or the exit status;
	// Output an excerpt of the answer. Final, on a failure, says no
	// attempt follows (the step fails); Unclear that the outcome is not
	// known (a crash between the intent and the result).
	HookResult struct {
		HookRef
		Attempt int    `json:"attempt"`
		Status  string `json:"status,omitempty"`
		Output  string `json:"output,omitempty"`
		Reason  string `json:"reason,omitempty"`
		Final   bool   `json:"final,omitempty"`
		Unclear bool   `json:"unclear,omitempty"`
	}
	// HookSkippedData is the data of EvHookSkipped.
	HookSkippedData struct {
		HookRef
		Reason string `json:"reason"`
	}
)

// HookState is one hook of a step in the step's current run.
type HookState struct {
	Ref      HookRef
	Kind     string
	Status   string // RUNNING, SUCCEEDED, FAILED, SKIPPED
	Attempt  int    // the last attempt started
	Failures int    // attempts that failed with a known outcome
	Started  time.Time
	Ended    time.Time
	Result   string // the last status (HTTP status, SSM status, exit status)
	Output   string
	Reason   string
	Final    bool
	Unclear  bool
}

// HookRecord is one outcome of a hook (each attempt's result, or its
// skip), for exec show and reports.
type HookRecord struct {
	Step    string    `json:"step"`
	Phase   string    `json:"phase"`
	Hook    string    `json:"hook"`
	Kind    string    `json:"kind,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Outcome string    `json:"outcome"` // succeeded, failed, skipped
	Status  string    `json:"status,omitempty"`
	Output  string    `json:"output,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Unclear bool      `json:"unclear,omitempty"`
	Started time.Time `json:"started,omitzero"`
	At      time.Time `json:"at"`
}

func hookKey(phase string, i int) string { return phase + "/" + strconv.Itoa(i) }

// hookList returns the step's hooks of a phase.
func (st SpecStep) hookList(phase string) []ripcord.Hook {
	switch phase {
	case HookBefore:
		if st.Hooks != nil {
			return st.Hooks.Before
		}
	case HookAfter:
		if st.Hooks != nil {
			return st.Hooks.After
		}
	case HookOwn:
		if st.Hook != nil {
			return []ripcord.Hook{*st.Hook}
		}
	}
	return nil
}

// applyHook folds the hook events (state.go's apply calls it).
func (s *State) applyHook(ev ripcord.Event, invalid func(string, ...any) error) error {
	var ref HookRef
	var started HookStarted
	var res HookResult
	var skip HookSkippedData
	var err error
	switch ev.Type {
	case EvHookStarted:
		err = json.Unmarshal(ev.Data, &started)
		ref = started.HookRef
	case EvHookSucceeded, EvHookFailed:
		err = json.Unmarshal(ev.Data, &res)
		ref = res.HookRef
	case EvHookSkipped:
		err = json.Unmarshal(ev.Data, &skip)
		ref = skip.HookRef
	}
	if err != nil {
		return fmt.Errorf("execution %s: event %d (%s): %w", s.ID, ev.Seq, ev.Type, err)
	}
	st := s.Steps[ref.Step]
	if st == nil {
		return invalid("no step %q", ref.Step)
	}
	hooks := st.Spec.hookList(ref.Phase)
	switch {
	case ref.Index < 0 || ref.Index >= len(hooks) || hooks[ref.Index].Name != ref.Hook:
		return invalid("step %s has no %s hook %q at %d", ref.Step, ref.Phase, ref.Hook, ref.Index)
	case st.Status != stepRunning:
		return invalid("step %s is %s, not running", ref.Step, st.Status)
	case s.Final():
		return invalid("the execution has ended (%s)", s.State)
	}
	key := hookKey(ref.Phase, ref.Index)
	h := st.Hooks[key]
	switch ev.Type {
	case EvHookStarted:
		switch {
		case h != nil && h.Status != hookFailed:
			return invalid("hook %s of step %s is %s", ref.Hook, ref.Step, h.Status)
		case h != nil && h.Final:
			return invalid("hook %s of step %s failed for good; retry the step", ref.Hook, ref.Step)
		case h != nil && started.Attempt != h.Attempt+1, h == nil && started.Attempt != 1:
			return invalid("hook %s of step %s: attempt %d is not the next", ref.Hook, ref.Step, started.Attempt)
		}
		if h == nil {
			h = &HookState{Ref: ref, Kind: started.Kind}
			if st.Hooks == nil {
				st.Hooks = map[string]*HookState{}
			}
			st.Hooks[key] = h
		}
		h.Status, h.Attempt, h.Started, h.Ended = hookRunning, started.Attempt, ev.At, time.Time{}
		h.Result, h.Output, h.Reason, h.Unclear = "", "", "", false
	case EvHookSucceeded, EvHookFailed:
		if h == nil || h.Status != hookRunning || h.Attempt != res.Attempt {
			return invalid("hook %s of step %s has no attempt %d running", ref.Hook, ref.Step, res.Attempt)
		}
		h.Status, h.Ended, h.Result, h.Output, h.Reason, h.Final, h.Unclear = hookSucceeded, ev.At, res.Status, res.Output, res.Reason, false, res.Unclear
		outcome := "succeeded"
		if ev.Type == EvHookFailed {
			h.Status, h.Final, outcome = hookFailed, res.Final, "failed"
			if !res.Unclear {
				h.Failures++
			}
		}
		s.HookRuns = append(s.HookRuns, HookRecord{Step: ref.Step, Phase: ref.Phase, Hook: ref.Hook, Kind: h.Kind, Attempt: res.Attempt,
			Outcome: outcome, Status: res.Status, Output: res.Output, Reason: res.Reason, Unclear: res.Unclear, Started: h.Started, At: ev.At})
	case EvHookSkipped:
		if h != nil {
			return invalid("hook %s of step %s is %s", ref.Hook, ref.Step, h.Status)
		}
		if st.Hooks == nil {
			st.Hooks = map[string]*HookState{}
		}
		st.Hooks[key] = &HookState{Ref: ref, Kind: hooks[ref.Index].Kind(), Status: hookSkipped, Reason: skip.Reason, Ended: ev.At}
		s.HookRuns = append(s.HookRuns, HookRecord{Step: ref.Step, Phase: ref.Phase, Hook: ref.Hook, Kind: hooks[ref.Index].Kind(),
			Outcome: "skipped", Reason: skip.Reason, At: ev.At})
	}
	return nil
}

// retryHooks forgets the hooks of a retried step that failed for good, so
// that they run again; hooks that succeeded or were skipped stay done.
func (st *StepState) retryHooks() {
	for k, h := range st.Hooks {
		if h.Status == hookFailed {
			delete(st.Hooks, k)
		}
	}
}

// hookUnclear reports whether the step failed on a hook whose outcome is
// unknown (and so waits for a person, not for the failure policy).
func (st *StepState) hookUnclear() bool {
	if st == nil || st.Status != stepFailed {
		return false
	}
	for _, h := range st.Hooks {
		if h.Status == hookFailed && h.Final && h.Unclear {
			return true
		}
	}
	return false
}

// errHookPending ends the driving of a step whose hooks are not done: a
// hook failed for good (the step is finished) or the execution paused.
var errHookPending = errors.New("hooks pending")

// driveHooks runs the hooks of one phase of a running step, in order. It
// returns nil once every one succeeded or was skipped, errHookPending when
// the step cannot go on (a hook failed for good and the step is recorded
// failed), errPaused when an unclear hook paused the execution, or another
// error.
func (r *run) driveHooks(st *StepState, phase string) error {
	for i, h := range st.Spec.hookList(phase) {
		if st.Status != stepRunning {
			return errHookPending
		}
		ref := HookRef{Step: st.Spec.Name, Phase: phase, Index: i, Hook: h.Name}
		hs := st.Hooks[hookKey(phase, i)]
		switch {
		case hs == nil && !h.RunsIn(r.s.Spec.Mode):
			if err := r.record(r.ev(EvHookSkipped, HookSkippedData{HookRef: ref,
				Reason: fmt.Sprintf("runs only in %s, not in a %s", modesText(h.Modes), r.s.Spec.Mode)})); err != nil {
				return err
			}
			continue
		case hs != nil && (hs.Status == hookSucceeded || hs.Status == hookSkipped):
			continue
		case hs != nil && hs.Status == hookFailed && hs.Final:
			return errHookPending // recorded with the step's end
		case hs != nil && hs.Status == hookRunning && r.hookCalls[hookCallKey(ref)] == nil:
			// Started by a driver that stopped before the outcome was
			// recorded: it may have had its effect.
			if err := r.unclearHook(st, ref, h, hs); err != nil {
				return err
			}
		}
		if err := r.runHook(st, ref, h); err != nil {
			return err
		}
	}
	return nil
}

// hookCall is a hook attempt in flight, started by this driver after its
// intent was recorded. The call's goroutine sends its outcome on done
// (buffered: it never blocks), sets finished and wakes the driver.
type hookCall struct {
	ref      HookRef
	hook     ripcord.Hook
	attempt  int
	failures int // the hook's failures before this attempt
	done     chan hookOutcome
	finished atomic.Bool
	cancel   context.CancelFunc // ends the call early: its step ended meanwhile
}

func hookCallKey(ref HookRef) string { return ref.Step + "/" + hookKey(ref.Phase, ref.Index) }

// hookRetryAt is when a hook whose last attempt failed (with a known
// outcome) may be tried again: the doubling backoff after its end. It is
// zero when nothing delays the next attempt.
func hookRetryAt(h ripcord.Hook, hs *HookState) time.Time {
	if hs == nil || hs.Status != hookFailed || hs.Unclear || hs.Final || hs.Failures == 0 {
		return time.Time{}
	}
	backoff := h.Backoff
	if backoff <= 0 {
		backoff = ripcord.DefaultHookBackoff
	}
	return hs.Ended.Add(backoff << min(hs.Failures-1, 16))
}

// hooksNext gives consider when a failed hook of a running step may be
// tried again, so that the driver wakes for it (nextDeadline).
func (r *run) hooksNext(consider func(time.Time)) {
	for _, st := range r.s.Steps {
		if st.Status != stepRunning {
			continue
		}
		for _, phase := range []string{HookBefore, HookOwn, HookAfter} {
			for i, h := range st.Spec.hookList(phase) {
				consider(hookRetryAt(h, st.Hooks[hookKey(phase, i)]))
			}
		}
	}
}

// hooksFinished reports whether a call in flight has returned and waits
// to be recorded.
func (r *run) hooksFinished() bool {
	for _, c := range r.hookCalls {
		if c.finished.Load() {
			return true
		}
	}
	return false
}

// hookInFlight reports whether step has a hook call in flight.
func (r *run) hookInFlight(step string) bool {
	for _, c := range r.hookCalls {
		if c.ref.Step == step {
			return true
		}
	}
	return false
}

// settleOrphanHooks ends the calls in flight whose step has ended
// meanwhile (a person skipped it): the fold would refuse their result, so
// the call is cancelled and forgotten, and the log says so.
func (r *run) settleOrphanHooks() {
	for key, c := range r.hookCalls {
		if !r.orphan(c) {
			continue
		}
		c.cancel()
		delete(r.hookCalls, key)
		r.logger().Warn("a hook's step ended while its call ran: the call is cancelled and its result not recorded", "step", c.ref.Step,
			"hook", c.ref.Hook, "attempt", c.attempt)
	}
}

// orphan reports whether call c's step is no longer running.
func (r *run) orphan(c *hookCall) bool {
	st := r.s.Steps[c.ref.Step]
	return st == nil || st.Status != stepRunning
}

// drainHooks waits for the calls in flight when the driver stops, and
// records their results while it still holds the lease (a soft stop lets
// a call finish and be recorded). A crashed driver (a test's crash, like
// a killed process) records nothing.
func (r *run) drainHooks() {
	if len(r.hookCalls) == 0 || r.crashed || r.lost {
		return
	}
	saved := r.ctx
	defer func() { r.ctx = saved }()
	r.settleOrphanHooks()
	for key, c := range r.hookCalls {
		out := <-c.done // each call is bounded by its hook's timeout
		delete(r.hookCalls, key)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(saved), r.e.cfg.MutationTimeout)
		r.ctx = ctx
		err := r.hookReturned(r.s.Steps[c.ref.Step], c, out)
		if errors.Is(err, errReplan) {
			// A person's command came first: read it, then record the
			// result if the step still runs.
			if err = r.catchUp(); err == nil && !r.orphan(c) {
				err = r.hookReturned(r.s.Steps[c.ref.Step], c, out)
			}
		}
		cancel()
		if err != nil && !errors.Is(err, errHookPending) {
			r.logger().Warn("recording a hook's result as the driver stopped failed; the next driver finds it unclear", "step", c.ref.Step,
				"hook", c.ref.Hook, "attempt", c.attempt, "err", err)
		}
	}
}

// unclearHook decides about a hook whose outcome is unknown: an idempotent
// one is recorded as failed (not counted against its retries) and runs
// again; any other fails the step and pauses the execution.
func (r *run) unclearHook(st *StepState, ref HookRef, h ripcord.Hook, hs *HookState) error {
	reason := fmt.Sprintf("the outcome of attempt %d of hook %s is unknown: ripcord stopped after starting it at %s and before recording its result",
		hs.Attempt, h.Name, hs.Started.UTC().Format(time.RFC3339))
	if h.Idempotent {
		return r.record(r.ev(EvHookFailed, HookResult{HookRef: ref, Attempt: hs.Attempt, Unclear: true,
			Reason: reason + "; it is idempotent, so it runs again"}))
	}
	reason += "; it is not idempotent, so it was not run again"
	remedy := fmt.Sprintf("check whether %s took effect (%s); if it did not, run it again: ripcord exec retry %s %s; if it did: ripcord exec skip %s %s",
		h.Name, hookWhat(h), r.s.ID, st.Spec.Name, r.s.ID, st.Spec.Name)
	r.logger().Error("execution paused", "step", st.Spec.Name, "hook", h.Name, "reason", reason, "remedy", remedy)
	if err := r.record(
		r.ev(EvHookFailed, HookResult{HookRef: ref, Attempt: hs.Attempt, Unclear: true, Final: true, Reason: reason}),
		r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepFailed, Reason: fmt.Sprintf("%s hook %s: %s", ref.Phase, h.Name, reason)}),
		r.ev(EvExecutionPaused, StepRef{Step: st.Spec.Name, Reason: reason, Remedy: remedy}),
	); err != nil {
		return err
	}
	return errPaused
}

// runHook moves one hook on: it records the result of its call in flight
// once the call returned (nil once the hook succeeded), or starts its next
// attempt (the first, or a retry after the backoff on the engine's clock)
// and returns errHookPending while the call runs. A paused or cancelled
// execution starts no attempt; a call in flight is still recorded.
func (r *run) runHook(st *StepState, ref HookRef, h ripcord.Hook) error {
	key := hookCallKey(ref)
	if c := r.hookCalls[key]; c != nil {
		select {
		case out := <-c.done:
			err := r.hookReturned(st, c, out)
			if err != nil && !errors.Is(err, errHookPending) {
				// Not recorded (a stop, a racing command, the store):
				// the outcome waits for the next pass or drainHooks.
				c.done <- out
				return err
			}
			delete(r.hookCalls, key)
			return err
		default:
			return errHookPending
		}
	}
	if r.s.Paused || r.s.Cancel {
		return errHookPending
	}
	hs := st.Hooks[hookKey(ref.Phase, ref.Index)]
	attempt, failures := 1, 0
	if hs != nil {
		attempt, failures = hs.Attempt+1, hs.Failures
		if at := hookRetryAt(h, hs); r.now().Before(at) {
			return errHookPending // nextDeadline wakes the driver at the retry
		}
	}
	if r.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrStopped, r.ctx.Err())
	}
	if err := r.renew(r.ctx); err != nil {
		return err
	}
	if err := r.record(r.ev(EvHookStarted, HookStarted{HookRef: ref, Kind: h.Kind(), Attempt: attempt, What: hookWhat(h), Idempotent: h.Idempotent})); err != nil {
		return err
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = ripcord.DefaultHookTimeout
	}
	// A soft stop lets the call finish and be recorded (drainHooks).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), timeout)
	c := &hookCall{ref: ref, hook: h, attempt: attempt, failures: failures, done: make(chan hookOutcome, 1), cancel: cancel}
	r.hookCalls[key] = c
	hctx, spec, id := r.hookContext(st, ref), r.s.Spec, r.s.ID
	go func() {
		defer cancel()
		c.done <- r.e.callHook(ctx, h, hctx, spec)
		c.finished.Store(true)
		r.e.wakeUp(id)
	}()
	return errHookPending
}

// hookReturned records the outcome of call c of a hook of step st: nil
// when it succeeded, errHookPending when it failed (the next attempt waits
// for its backoff; none left: the step failed).
func (r *run) hookReturned(st *StepState, c *hookCall, out hookOutcome) error {
	ref, h := c.ref, c.hook
	if fn := r.e.cfg.Hooks.AfterHookCall; fn != nil {
		if err := fn(st.Spec.Name, h.Name); err != nil {
			return err
		}
	}
	res := HookResult{HookRef: ref, Attempt: c.attempt, Status: out.Status, Output: excerpt(out.Output)}
	if out.Err == nil {
		return r.record(r.ev(EvHookSucceeded, res))
	}
	res.Reason = out.Err.Error()
	if c.failures+1 > h.Retries {
		res.Final = true
		reason := fmt.Sprintf("%s hook %s failed", ref.Phase, h.Name)
		if h.Retries > 0 {
			reason += fmt.Sprintf(" %d times", c.failures+1)
		}
		if err := r.record(r.ev(EvHookFailed, res),
			r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepFailed, Reason: reason + ": " + res.Reason})); err != nil {
			return err
		}
		return errHookPending
	}
	if err := r.record(r.ev(EvHookFailed, res)); err != nil {
		return err
	}
	return errHookPending
}

// succeedStep ends a step whose own work succeeded: after its after hooks,
// or failed when one of them fails.
func (r *run) succeedStep(st *StepState, reason string) error {
	if err := r.driveHooks(st, HookAfter); err != nil {
		if errors.Is(err, errHookPending) {
			return nil
		}
		return err
	}
	return r.record(r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepSucceeded, Reason: reason}))
}

// beforeHooksDone runs a running step's before hooks, and reports whether
// its own work may go on.
func (r *run) beforeHooksDone(st *StepState) (bool, error) {
	if st.Spec.Hooks == nil || len(st.Spec.Hooks.Before) == 0 {
		return true, nil
	}
	switch err := r.driveHooks(st, HookBefore); {
	case err == nil:
		return st.Status == stepRunning, nil
	case errors.Is(err, errHookPending):
		return false, nil
	default:
		return false, err
	}
}

// driveHookStep runs a hook step: its hook, then the step succeeds (after
// its after hooks).
func (r *run) driveHookStep(st *StepState) error {
	switch err := r.driveHooks(st, HookOwn); {
	case errors.Is(err, errHookPending):
		return nil
	case err != nil:
		return err
	}
	return r.succeedStep(st, "")
}

func modesText(ms []ripcord.Mode) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += " and "
		}
		out += string(m)
	}
	if len(ms) == 1 {
		return "a " + out
	}
	return out
}

// excerpt keeps the start of a hook's output for the event log.
func excerpt(s string) string {
	const n = 512
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
