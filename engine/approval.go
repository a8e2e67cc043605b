package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Approval steps: a step that waits, calling DRS for nothing, until a
// person approves or rejects it or its timeout passes. Each of these is an
// event, and applies only while the step waits for a decision:
//
//	StepStarted ─▶ ApprovalRequested ─┬─ ApprovalGranted  ─▶ StepFinished succeeded
//	                                  ├─ ApprovalRejected ─▶ StepFinished failed (failure policy)
//	                                  └─ ApprovalTimedOut ─▶ StepFinished failed or succeeded (onTimeout)
//
// The decision is recorded by whoever decides (a control command, through
// the one guarded path); the driver records the step's end after it, so
// every step ends with StepFinished. A retry of a failed approval step asks
// again.
const (
	EvApprovalRequested = "ApprovalRequested"
	EvApprovalGranted   = "ApprovalGranted"
	EvApprovalRejected  = "ApprovalRejected"
	EvApprovalTimedOut  = "ApprovalTimedOut"
)

type (
	// ApprovalRequested is the data of EvApprovalRequested: what the
	// approvers are asked, who they are, and until when (Deadline is zero
	// when the step waits for ever).
	ApprovalRequested struct {
		Step       string         `json:"step"`
		Message    string         `json:"message,omitempty"`
		Roles      []ripcord.Role `json:"roles,omitempty"`
		Identities []string       `json:"identities,omitempty"`
		Deadline   time.Time      `json:"deadline,omitzero"`
		OnTimeout  string         `json:"onTimeout,omitempty"`
	}
	// ApprovalDecision is the data of EvApprovalGranted and
	// EvApprovalRejected (the event's Actor is who decided), and of
	// EvApprovalTimedOut (no comment). Via says through what, when not
	// the API or the CLI ("console", "approval link").
	ApprovalDecision struct {
		Step    string `json:"step"`
		Comment string `json:"comment,omitempty"`
		Via     string `json:"via,omitempty"`
	}
)

// Approval decisions, as ApprovalState.Decision and ApprovalRecord.Decision
// hold them.
const (
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalTimedOut = "timedOut"
)

// ApprovalState is an approval step's current request: open until
// Decision is set.
type ApprovalState struct {
	Seq       int64 // the ApprovalRequested event's; links name it
	Requested time.Time
	Request   ApprovalRequested
	Decision  string // "" while open; ApprovalApproved, ApprovalRejected or ApprovalTimedOut
	By        string // the event's actor
	Comment   string
	Via       string
	At        time.Time
}

// Open reports whether the request waits for a decision.
func (a *ApprovalState) Open() bool { return a != nil && a.Decision == "" }

// Approval returns what a step of the spec asks its approvers (the zero
// Approval for a step that is not an approval step).
func (st SpecStep) approval() ripcord.Approval {
	if st.Approval == nil {
		return ripcord.Approval{}
	}
	return *st.Approval
}

// ApprovalRecord is one decided approval, for reports and the timeline.
type ApprovalRecord struct {
	Step      string    `json:"step"`
	Message   string    `json:"message,omitempty"`
	Requested time.Time `json:"requested"`
	Decision  string    `json:"decision"`
	By        string    `json:"by,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Via       string    `json:"via,omitempty"`
	At        time.Time `json:"at"`
}

// applyApproval folds the approval events (state.go's apply calls it).
func (s *State) applyApproval(ev ripcord.Event, invalid func(string, ...any) error) error {
	switch ev.Type {
	case EvApprovalRequested:
		var d ApprovalRequested
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("execution %s: event %d (%s): %w", s.ID, ev.Seq, ev.Type, err)
		}
		st := s.Steps[d.Step]
		switch {
		case st == nil || st.Spec.Kind != ripcord.StepApproval:
			return invalid("no approval step %q", d.Step)
		case st.Status != stepRunning:
			return invalid("step %s is %s, not running", d.Step, st.Status)
		case st.Approval.Open():
			return invalid("step %s waits for a decision already", d.Step)
		case s.Final():
			return invalid("the execution has ended (%s)", s.State)
		}
		st.Approval = &ApprovalState{Seq: ev.Seq, Requested: ev.At, Request: d}
	case EvApprovalGranted, EvApprovalRejected, EvApprovalTimedOut:
		var d ApprovalDecision
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("execution %s: event %d (%s): %w", s.ID, ev.Seq, ev.Type, err)
		}
		st := s.Steps[d.Step]
		switch {
		case st == nil || st.Spec.Kind != ripcord.StepApproval:
			return invalid("no approval step %q", d.Step)
		case st.Status != stepRunning || !st.Approval.Open():
			return invalid("step %s does not wait for a decision", d.Step)
		case s.Final():
			return invalid("the execution has ended (%s)", s.State)
		}
		a := st.Approval
		a.Decision = map[string]string{EvApprovalGranted: ApprovalApproved, EvApprovalRejected: ApprovalRejected, EvApprovalTimedOut: ApprovalTimedOut}[ev.Type]
		a.Comment, a.Via, a.At = d.Comment, d.Via, ev.At
		if ev.Type != EvApprovalTimedOut {
			a.By = ev.Actor
		}
		s.Approvals = append(s.Approvals, ApprovalRecord{Step: d.Step, Message: a.Request.Message, Requested: a.Requested,
			Decision: a.Decision, By: a.By, Comment: a.Comment, Via: a.Via, At: a.At})
	}
	return nil
}

// driveApproval moves a running approval step on: it asks for a decision
// when none is open, ends the step once one is recorded, and records the
// timeout when its deadline has passed.
func (r *run) driveApproval(st *StepState) error {
	name := st.Spec.Name
	a := st.Approval
	switch {
	case a == nil:
		// No request yet in this run of the step (a retry clears the
		// last one: a retried step asks again).
		ap := st.Spec.approval()
		req := ApprovalRequested{Step: name, Message: ap.Message, Roles: ap.Roles, Identities: ap.Identities, OnTimeout: ap.OnTimeout}
		if req.OnTimeout == "" {
			req.OnTimeout = ripcord.ApprovalFail
		}
		if ap.Timeout > 0 {
			req.Deadline = r.now().Add(ap.Timeout)
		}
		return r.record(r.ev(EvApprovalRequested, req))
	case a.Open():
		if dl := a.Request.Deadline; dl.IsZero() || r.now().Before(dl) {
			return nil
		}
		fin := StepFinished{Step: name, Status: stepFailed,
			Reason: fmt.Sprintf("nobody approved within %s", a.Request.Deadline.Sub(a.Requested).Round(time.Second))}
		if a.Request.OnTimeout == ripcord.ApprovalContinue {
			fin.Status, fin.Reason = stepSucceeded, fin.Reason+"; the plan goes on (onTimeout: continue)"
		}
		return r.record(r.ev(EvApprovalTimedOut, ApprovalDecision{Step: name}), r.ev(EvStepFinished, fin))
	case a.Decision == ApprovalApproved:
		return r.succeedStep(st, decisionText(a))
	case a.Decision == ApprovalRejected:
		return r.record(r.ev(EvStepFinished, StepFinished{Step: name, Status: stepFailed, Reason: decisionText(a)}))
	}
	return nil
}

// decisionText says who decided and why: "rejected by alice (tok_…): not now".
func decisionText(a *ApprovalState) string {
	t := a.Decision + " by " + a.By
	if a.Comment != "" {
		t += ": " + a.Comment
	}
	return t
}

// approvalDeadline is when an open approval of a running step times out,
// or zero.
func (st *StepState) approvalDeadline() time.Time {
	if st.Status != stepRunning || !st.Approval.Open() {
		return time.Time{}
	}
	return st.Approval.Request.Deadline
}

// ApprovalRequest is a person's decision on an approval step, for Approve
// and Reject.
type ApprovalRequest struct {
	Step    string
	Comment string
	Via     string // "console", "approval link"; empty for the API and the CLI
	// Seq, when not zero, is the ApprovalRequested event the decision is
	// for (an approval link's): a decision for another wait is refused.
	Seq int64
}

// Approve records that actor approved the step's open request. Whether
// actor may approve is the caller's to check (ripcord.Approval.Allows, on
// the token it authenticated); the engine checks that the step waits for a
// decision.
func (e *Engine) Approve(ctx context.Context, id, actor string, rq ApprovalRequest) error {
	return e.decide(ctx, id, actor, EvApprovalGranted, rq)
}

// Reject records that actor rejected the step's open request: the step
// fails, and the plan's failure policy applies.
func (e *Engine) Reject(ctx context.Context, id, actor string, rq ApprovalRequest) error {
	return e.decide(ctx, id, actor, EvApprovalRejected, rq)
}

func (e *Engine) decide(ctx context.Context, id, actor, typ string, rq ApprovalRequest) error {
	return e.control(ctx, id, actor, typ, ApprovalDecision{Step: rq.Step, Comment: rq.Comment, Via: rq.Via}, func(s *State) error {
		st := s.Steps[rq.Step]
		switch {
		case st == nil:
			return unknownStep(s, rq.Step)
		case st.Spec.Kind != ripcord.StepApproval:
			return refuse("step %s is a %s step; only an approval step is approved or rejected", rq.Step, st.Spec.Kind)
		}
		// What was decided comes first, also on an ended execution: a
		// second use of a link says who decided it.
		a := st.Approval
		switch {
		case rq.Seq != 0 && (a == nil || a.Seq != rq.Seq):
			return refuse("this approval link is for an earlier wait of step %s, which has been decided", rq.Step)
		case a != nil && a.Decision == ApprovalTimedOut:
			return refuse("step %s timed out at %s; nobody can decide it any more", rq.Step, a.At.Format(time.RFC3339))
		case a != nil && a.Decision != "":
			return refuse("step %s was %s already by %s at %s", rq.Step, a.Decision, a.By, a.At.Format(time.RFC3339))
		}
		if err := notEnded(s, "approved or rejected"); err != nil {
			return err
		}
		if a.Open() && st.Status == stepRunning {
			return nil
		}
		return refuse("step %s is %s and waits for no decision", rq.Step, st.Status)
	})
}

// WaitingApproval returns the approval a step of execution s waits for:
// what it asks, and the request's event seq; false when it waits for none.
func (s *State) WaitingApproval(step string) (ripcord.Approval, int64, bool) {
	st := s.Steps[step]
	if st == nil || st.Status != stepRunning || !st.Approval.Open() {
		return ripcord.Approval{}, 0, false
	}
	return st.Spec.approval(), st.Approval.Seq, true
}
