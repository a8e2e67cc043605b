package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// Control commands. Each is an event with the identity of who asked; the
// running engine (or the next `exec resume`) acts on it. A command that
// does not fit the execution's state is refused with the state and what to
// do instead.

// Pause stops new steps from starting; running jobs go on.
func (e *Engine) Pause(ctx context.Context, id, actor string) error {
	return e.control(ctx, id, actor, EvExecutionPaused, StepRef{Reason: "paused by " + actor}, func(s *State) error {
		if err := notEnded(s, "paused"); err != nil {
			return err
		}
		if s.Paused {
			return refuse("execution %s is already paused (%s); resume it with: ripcord exec resume %s", id, s.PauseReason, id)
		}
		return nil
	})
}

// Resume lets a paused execution go on.
func (e *Engine) Resume(ctx context.Context, id, actor string) error {
	return e.control(ctx, id, actor, EvExecutionResumed, struct{}{}, func(s *State) error {
		if !s.Paused {
			return errSkip
		}
		return nil
	})
}

// Cancel stops new steps; launches in flight finish; a drill is then cleaned up.
func (e *Engine) Cancel(ctx context.Context, id, actor string) error {
	return e.control(ctx, id, actor, EvCancelRequested, struct{}{}, func(s *State) error {
		if err := notEnded(s, "cancelled"); err != nil {
			return err
		}
		if s.Cancel {
			return refuse("execution %s is already being cancelled: launches in flight finish, then a drill is cleaned up; follow it with: ripcord exec watch %s", s.ID, s.ID)
		}
		return nil
	})
}

// Retry launches the failed servers of a step again.
func (e *Engine) Retry(ctx context.Context, id, actor, step string) error {
	return e.control(ctx, id, actor, EvRetryRequested, StepRef{Step: step}, func(s *State) error {
		st := s.Steps[step]
		switch {
		case st == nil:
			return unknownStep(s, step)
		case s.State == ripcord.ExecCancelled || s.Cancel:
			return refuse("execution %s is cancelled: its steps cannot be retried; start a new execution of plan %s with: ripcord run", id, s.Spec.Plan)
		case s.State == ripcord.ExecSucceeded:
			return refuse("execution %s has succeeded: nothing is left to retry", id)
		case st.Spec.Kind != ripcord.StepLaunch && st.Spec.Kind != ripcord.StepApproval && st.Spec.Kind != ripcord.StepCheck && st.Spec.Kind != ripcord.StepHook:
			return refuse("step %s is a %s step; only a failed launch, approval, check or hook step can be retried", step, st.Spec.Kind)
		case st.Status != stepFailed:
			return refuse("step %s is %s; only a failed launch, approval, check or hook step can be retried", step, st.Status)
		}
		return nil
	})
}

// Skip marks a step that is not done as skipped: steps after it go on.
func (e *Engine) Skip(ctx context.Context, id, actor, step string) error {
	return e.control(ctx, id, actor, EvStepSkipped, StepFinished{Step: step, Status: stepSkipped, Reason: "skipped by " + actor, Manual: true}, func(s *State) error {
		st := s.Steps[step]
		if st == nil {
			return unknownStep(s, step)
		}
		if err := notEnded(s, "changed"); err != nil {
			return err
		}
		if st.Status == stepSucceeded || st.Status == stepSkipped {
			return refuse("step %s is already %s", step, st.Status)
		}
		if st.Status == stepRunning && st.Spec.Kind == ripcord.StepLaunch {
			for _, id := range sortedKeys(st.Servers) {
				if sv := st.Servers[id]; sv.Status == srvRequested || sv.Status == srvLaunching {
					return refuse("step %s has launches in flight (server %s is %s); wait for them to end, or cancel the execution", step, sv.ID, sv.Status)
				}
			}
		}
		return nil
	})
}

var errSkip = errors.New("nothing to do")

func refuse(format string, args ...any) error {
	return &ripcord.Error{Code: ripcord.ECONFLICT, Message: fmt.Sprintf(format, args...)}
}

// notEnded refuses a command on an execution that has ended.
func notEnded(s *State, what string) error {
	if !s.Final() {
		return nil
	}
	e := refuse("execution %s has ended (%s) and cannot be %s", s.ID, s.State, what)
	if s.State == ripcord.ExecFailed {
		e.(*ripcord.Error).Hint = "retry a failed step with: ripcord exec retry " + s.ID + " STEP"
	}
	return e
}

func unknownStep(s *State, step string) error {
	return &ripcord.Error{Code: ripcord.ENOTFOUND, Message: fmt.Sprintf("execution %s has no step %q", s.ID, step),
		Hint: fmt.Sprintf("its steps are: %v (ripcord exec show %s)", s.Order, s.ID)}
}

// control records a command through the one guarded path for commands:
// check it against the execution's state, fold it into a copy (an event
// that does not fit is refused), append it unfenced (a person drives
// nothing) with the listing's update. The engine running the execution may
// append between the read and the write; the store then refuses the write
// (ECONFLICT) and the command is checked again on the new state, so that
// `ripcord exec pause` works while `ripcord run` follows the execution.
func (e *Engine) control(ctx context.Context, id, actor, typ string, data any, check func(*State) error) error {
	for attempt := 1; ; attempt++ {
		raced, err := e.controlOnce(ctx, id, actor, typ, data, check)
		if !raced || attempt == 10 {
			return err
		}
	}
}

func (e *Engine) controlOnce(ctx context.Context, id, actor, typ string, data any, check func(*State) error) (raced bool, err error) {
	s, err := e.Load(ctx, id)
	if err != nil {
		return false, err
	}
	if err := check(s); err == errSkip {
		return false, nil
	} else if err != nil {
		return false, err
	}
	ev := newEvent(typ, actor, e.cfg.Clock.Now(), data)
	ev.ExecutionID = id
	after, err := foldCopy(s, []ripcord.Event{ev})
	if err != nil {
		return false, &ripcord.Error{Code: ripcord.ECONFLICT, Message: fmt.Sprintf("execution %s (%s): %v", id, s.State, err)}
	}
	var summary []byte
	// The summary with the DRS calls of the drivers that stopped.
	if b, err := json.Marshal(after.Summarize(0)); err == nil {
		summary = b
	}
	last, err := e.cfg.Store.Append(ctx, id, s.LastSeq, 0, []ripcord.Event{ev}, projection(s, after, summary))
	if err == nil {
		// What was folded here serves the Run that usually follows
		// (exec resume, cleanup), which then folds nothing again.
		after.LastSeq = last
		ev.Seq = last
		e.emit(after, []ripcord.Event{ev})
		e.folded.Store(id, after)
		e.wakeUp(id)
	}
	return ripcord.ErrorCode(err) == ripcord.ECONFLICT && !errors.Is(err, ripcord.ErrLeaseLost), err
}
