package engine

import (
	"context"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// Control commands. Each is an event with the identity of who asked; the
// running engine (or the next `exec resume`) acts on it.

// Pause stops new steps from starting; running jobs go on.
func (e *Engine) Pause(ctx context.Context, id, actor string) error {
	return e.control(ctx, id, actor, EvExecutionPaused, stepRef{Reason: "paused by " + actor}, func(s *State) error {
		if s.Paused {
			return fmt.Errorf("execution %s is already paused", id)
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
		if s.Cancel {
			return errSkip
		}
		return nil
	})
}

// Retry launches the failed servers of a step again.
func (e *Engine) Retry(ctx context.Context, id, actor, step string) error {
	return e.control(ctx, id, actor, EvRetryRequested, stepRef{Step: step}, func(s *State) error {
		st := s.Steps[step]
		if st == nil {
			return fmt.Errorf("execution %s has no step %q", id, step)
		}
		if st.Spec.Kind != ripcord.StepLaunch || st.Status != stepFailed {
			return fmt.Errorf("step %s is %s; only a failed launch step can be retried", step, st.Status)
		}
		return nil
	})
}

// Skip marks a step that is not done as skipped: steps after it go on.
func (e *Engine) Skip(ctx context.Context, id, actor, step string) error {
	return e.control(ctx, id, actor, EvStepSkipped, stepFinished{Step: step, Status: stepSkipped, Reason: "skipped by " + actor, Manual: true}, func(s *State) error {
		st := s.Steps[step]
		if st == nil {
			return fmt.Errorf("execution %s has no step %q", id, step)
		}
		if st.Status == stepSucceeded || st.Status == stepSkipped {
			return fmt.Errorf("step %s is already %s", step, st.Status)
		}
		if st.Status == stepRunning && st.Spec.Kind == ripcord.StepLaunch {
			for _, sv := range st.Servers {
				if sv.Status == srvRequested || sv.Status == srvLaunching {
					return fmt.Errorf("step %s has launches in flight (server %s); wait for them or cancel", step, sv.ID)
				}
			}
		}
		return nil
	})
}

var errSkip = fmt.Errorf("nothing to do")

// control records a command after checking it against the execution's
// state. The engine running the execution may append between the read and
// the write; the store then refuses the write (ECONFLICT) and the command is
// checked again on the new state, so that `ripcord exec pause` works while
// `ripcord run` follows the execution.
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
	if s.Final() && typ != EvRetryRequested {
		return false, &ripcord.Error{Code: ripcord.ECONFLICT, Message: fmt.Sprintf("execution %s has ended (%s)", id, s.State)}
	}
	if err := check(s); err == errSkip {
		return false, nil
	} else if err != nil {
		return false, &ripcord.Error{Code: ripcord.ECONFLICT, Message: err.Error()}
	}
	ev := newEvent(typ, actor, e.cfg.Clock.Now(), data)
	ev.ExecutionID = id
	after := s.LastSeq
	upd := projectionUpdate(s, []ripcord.Event{ev})
	_, err = e.cfg.Store.Append(ctx, id, after, 0, []ripcord.Event{ev}, upd)
	return ripcord.ErrorCode(err) == ripcord.ECONFLICT, err
}
