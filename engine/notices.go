package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// Notice is what an event of an execution's log tells the people who
// asked to be notified (a plan's notify: entries): one of the kinds of
// ripcord.NotifyKinds, with what it is about.
type Notice struct {
	Kind string // ripcord.NotifyStarted, ...
	Step string // the step it is about, if any
	// Verdict is how it ended: for NotifyFinished the execution's final
	// state (succeeded, failed, cancelled); for NotifyCleanup done or
	// failed; for NotifyWaiting paused, or approval (an approval step
	// waits for a decision).
	Verdict string
	Reason  string
	// ApprovalSeq is, for a waiting approval, the seq of its
	// ApprovalRequested event (what an approval link names), and
	// Approvers says who may decide (ripcord.Approval.Approvers).
	ApprovalSeq int64
	Approvers   string
}

// ApplyNotice applies ev to s, as Apply does (an event that does not fit
// the state is passed over), and returns the notice it makes, if any:
// ExecutionStarted (started); ExecutionPaused (waiting on a person, with
// the reason); ApprovalRequested (waiting on an approver, with the
// approval's message); StepFinished failed (stepFailed); ExecutionFinished
// (finished, with the verdict); CleanupFinished (cleanup done); and a
// driver that stops, without the cleanup done, on an ended execution
// because DRS refused it or an error stopped it (cleanup failed). An
// event that changes nothing makes no notice, so a log read twice, or
// an event recorded twice, notifies once.
func (s *State) ApplyNotice(ev ripcord.Event) (Notice, bool, error) {
	failedBefore := s.Cleanup.Failed
	if err := s.apply(ev); err != nil {
		if errors.As(err, new(*TransitionError)) {
			return Notice{}, false, nil
		}
		return Notice{}, false, err
	}
	dec := func(v any) bool { return len(ev.Data) > 0 && json.Unmarshal(ev.Data, v) == nil }
	switch ev.Type {
	case EvExecutionStarted:
		return Notice{Kind: ripcord.NotifyStarted}, true, nil
	case EvExecutionPaused:
		var d StepRef
		dec(&d)
		reason := d.Reason
		if d.Remedy != "" {
			reason += "; " + d.Remedy
		}
		return Notice{Kind: ripcord.NotifyWaiting, Step: d.Step, Verdict: "paused", Reason: reason}, true, nil
	case EvApprovalRequested:
		var d ApprovalRequested
		dec(&d)
		ap := ripcord.Approval{Roles: d.Roles, Identities: d.Identities}
		reason := d.Message
		if reason == "" {
			reason = "step " + d.Step + " waits for a decision"
		}
		return Notice{Kind: ripcord.NotifyWaiting, Step: d.Step, Verdict: "approval", Reason: reason,
			ApprovalSeq: ev.Seq, Approvers: ap.Approvers()}, true, nil
	case EvStepFinished:
		var d StepFinished
		if dec(&d) && d.Status == stepFailed {
			return Notice{Kind: ripcord.NotifyStepFailed, Step: d.Step, Verdict: stepFailed, Reason: d.Reason}, true, nil
		}
	case EvExecutionFinished:
		return Notice{Kind: ripcord.NotifyFinished, Verdict: string(s.State), Reason: s.Reason}, true, nil
	case EvCleanupFinished:
		var d CleanupFinished
		dec(&d)
		return Notice{Kind: ripcord.NotifyCleanup, Verdict: "done",
			Reason: fmt.Sprintf("%d drill instances terminated (%.1f instance-minutes); %d already gone", d.Instances, d.InstanceMinutes, len(d.AlreadyGone))}, true, nil
	case EvDriverStopped:
		// A cleanup that failed again for the same reason (the
		// supervisor keeps trying) does not notify again.
		if f := s.Cleanup.Failed; f != "" && f != failedBefore && !s.Cleanup.Done {
			return Notice{Kind: ripcord.NotifyCleanup, Verdict: "failed", Reason: f}, true, nil
		}
	}
	return Notice{}, false, nil
}

// NewState returns the state of execution id before its first event, to
// apply its events to (ApplyNotice).
func NewState(id string) *State { return newState(id) }
