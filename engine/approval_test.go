package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// sleepHookClock is the bounded manual clock that calls after once each
// Sleep has moved simulated time: a person acting while the driver waits.
type sleepHookClock struct {
	boundedClock
	after func()
}

func (c sleepHookClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := c.boundedClock.Sleep(ctx, d); err != nil {
		return err
	}
	c.after()
	return nil
}

// approvalSpec is database, then the approval step go-ahead (approver role
// recovery, the token name alice), then web.
func approvalSpec(policy ripcord.FailurePolicy, timeout time.Duration, onTimeout string) engine.Spec {
	return spec(policy,
		launchStep("database", nil, db1, db2),
		engine.SpecStep{Name: "go-ahead", Kind: ripcord.StepApproval, After: []string{"database"}, Approval: &ripcord.Approval{
			Roles: []ripcord.Role{ripcord.RoleRecovery}, Identities: []string{"alice"}, Message: "Promote the database, then approve",
			Timeout: timeout, OnTimeout: onTimeout}},
		launchStep("web", []string{"go-ahead"}, web1, web2),
	)
}

// approvalEnv runs spec under id with a clock that calls act (with the
// engine and the state as the store has it) after every sleep of the
// driver, and returns the state Run ended with.
func approvalEnv(t *testing.T, e *env, id string, sp engine.Spec, act func(eng *engine.Engine, s *engine.State)) *engine.State {
	t.Helper()
	var eng *engine.Engine
	clock := sleepHookClock{boundedClock: boundedClock{e.clock, e.clock.Now().Add(12 * time.Hour)}}
	clock.after = func() {
		s, err := eng.Load(context.Background(), id)
		if err != nil {
			t.Errorf("load: %v", err)
			return
		}
		act(eng, s)
	}
	eng = e.engineWith(func(c *engine.Config) { c.Clock = clock })
	e.start(eng, id, sp)
	s, err := eng.Run(context.Background(), id)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return s
}

// requested is the one ApprovalRequested event of evs.
func requested(t *testing.T, evs []ripcord.Event) ripcord.Event {
	t.Helper()
	var found []ripcord.Event
	for _, ev := range evs {
		if ev.Type == engine.EvApprovalRequested {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d ApprovalRequested events; want 1", len(found))
	}
	return found[0]
}

// TestApprovalGranted: the drill waits at the approval step, calling DRS
// for nothing, until a person approves twenty simulated minutes later with
// a comment; then web launches and the drill succeeds. The decision, who
// made it and the comment are in the log and the state; a second decision
// is refused.
func TestApprovalGranted(t *testing.T) {
	var requestedAt time.Time
	var callsAtRequest, callsAtApproval int64
	e := newEnv(t, nil)
	decided := false
	s := approvalEnv(t, e, "appr-1", approvalSpec(ripcord.FailureStop, time.Hour, ""), func(eng *engine.Engine, s *engine.State) {
		if _, seq, ok := s.WaitingApproval("go-ahead"); ok && !decided {
			if requestedAt.IsZero() {
				requestedAt, callsAtRequest = s.Steps["go-ahead"].Approval.Requested, e.totalRequests()
				if seq == 0 {
					t.Errorf("the open approval has no request seq")
				}
			}
			if e.clock.Now().Sub(requestedAt) >= 20*time.Minute {
				callsAtApproval = e.totalRequests()
				if err := eng.Approve(context.Background(), "appr-1", "alice (tok_1)", engine.ApprovalRequest{Step: "go-ahead", Comment: "db promoted, lag 3s"}); err != nil {
					t.Errorf("approve: %v", err)
				}
				decided = true
			}
		}
	})
	wantState(t, s, ripcord.ExecSucceeded)
	if callsAtApproval != callsAtRequest {
		t.Errorf("%d DRS requests while the step waited for approval; want none", callsAtApproval-callsAtRequest)
	}
	evs := e.events("appr-1")
	req := requested(t, evs)
	rd := evData[engine.ApprovalRequested](t, evs, engine.EvApprovalRequested)[0]
	if rd.Message != "Promote the database, then approve" || !rd.Deadline.Equal(req.At.Add(time.Hour)) || rd.OnTimeout != ripcord.ApprovalFail {
		t.Errorf("ApprovalRequested %+v; want the message, a deadline an hour after it, onTimeout fail", rd)
	}
	var granted ripcord.Event
	for _, ev := range evs {
		if ev.Type == engine.EvApprovalGranted {
			granted = ev
		}
	}
	gd := evData[engine.ApprovalDecision](t, evs, engine.EvApprovalGranted)
	if len(gd) != 1 || gd[0].Comment != "db promoted, lag 3s" || granted.Actor != "alice (tok_1)" {
		t.Fatalf("ApprovalGranted %+v by %q; want one, by alice, with the comment", gd, granted.Actor)
	}
	if d := granted.At.Sub(req.At); d < 20*time.Minute || d > 21*time.Minute {
		t.Errorf("approved %s after the request; want about 20m", d)
	}
	// web's servers were launched only after the approval.
	for _, srv := range []string{web1, web2} {
		for _, j := range e.jobsOf(srv) {
			if j.Created.Before(granted.At) {
				t.Errorf("web server %s in job %s created %s, before the approval at %s", srv, j.JobID, j.Created, granted.At)
			}
		}
	}
	st := s.Steps["go-ahead"]
	if st.Status != "succeeded" || !strings.Contains(st.Reason, "approved by alice (tok_1): db promoted, lag 3s") {
		t.Errorf("step go-ahead %s (%s)", st.Status, st.Reason)
	}
	if len(s.Approvals) != 1 || s.Approvals[0].By != "alice (tok_1)" || s.Approvals[0].Decision != engine.ApprovalApproved {
		t.Errorf("approvals %+v", s.Approvals)
	}
	// A second decision, and one on a step that is no approval step, are refused.
	eng := e.engine(engine.Hooks{})
	err := eng.Reject(context.Background(), "appr-1", "bob (tok_2)", engine.ApprovalRequest{Step: "go-ahead"})
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT {
		t.Errorf("a rejection after the approval: %v; want ECONFLICT", err)
	}
	err = eng.Approve(context.Background(), "appr-1", "bob (tok_2)", engine.ApprovalRequest{Step: "web"})
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), "only an approval step") {
		t.Errorf("approving a launch step: %v; want ECONFLICT", err)
	}
}

// TestApprovalTimeout: nobody decides. With onTimeout fail the step fails
// at its deadline, exactly, and the plan's policy (stop) fails the drill
// without launching web; with continue the plan goes on.
func TestApprovalTimeout(t *testing.T) {
	for _, tc := range []struct {
		onTimeout string
		want      ripcord.ExecState
		step      string
		web       bool
	}{
		{ripcord.ApprovalFail, ripcord.ExecFailed, "failed", false},
		{ripcord.ApprovalContinue, ripcord.ExecSucceeded, "succeeded", true},
	} {
		t.Run(tc.onTimeout, func(t *testing.T) {
			e := newEnv(t, nil)
			s := approvalEnv(t, e, "appr-t", approvalSpec(ripcord.FailureStop, 30*time.Minute, tc.onTimeout), func(*engine.Engine, *engine.State) {})
			wantState(t, s, tc.want)
			evs := e.events("appr-t")
			req := requested(t, evs)
			var timedOut ripcord.Event
			for _, ev := range evs {
				if ev.Type == engine.EvApprovalTimedOut {
					timedOut = ev
				}
			}
			if !timedOut.At.Equal(req.At.Add(30 * time.Minute)) {
				t.Errorf("timed out at %s; want exactly 30m after the request (%s)", timedOut.At, req.At)
			}
			st := s.Steps["go-ahead"]
			if st.Status != tc.step || !strings.Contains(st.Reason, "nobody approved within 30m0s") {
				t.Errorf("step go-ahead %s (%s); want %s, nobody approved", st.Status, st.Reason, tc.step)
			}
			launched := len(e.jobsOf(web1)) > 0
			if launched != tc.web {
				t.Errorf("web launched: %v; want %v", launched, tc.web)
			}
			if len(s.Approvals) != 1 || s.Approvals[0].Decision != engine.ApprovalTimedOut {
				t.Errorf("approvals %+v", s.Approvals)
			}
		})
	}
}

// TestApprovalRejected: a rejection fails the step with who and why, and
// the failure policy applies: pause. A retry of the step asks again, and
// an approval then lets the drill finish. A late decision for the earlier
// wait (a link's seq) is refused.
func TestApprovalRejected(t *testing.T) {
	e := newEnv(t, nil)
	eng := e.engineWith(nil)
	ctx := context.Background()
	e.start(eng, "appr-r", approvalSpec(ripcord.FailurePause, 0, ""))
	// Run until the step waits: it waits for ever (no timeout), so the
	// driver is stopped from the clock once it has asked.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	asked := make(chan struct{})
	eng2 := e.engineWith(func(c *engine.Config) {
		c.Clock = sleepHookClock{boundedClock: boundedClock{e.clock, e.clock.Now().Add(12 * time.Hour)}, after: func() {
			if s, err := eng.Load(ctx, "appr-r"); err == nil {
				if _, _, ok := s.WaitingApproval("go-ahead"); ok {
					stop()
				}
			}
		}}
	})
	go func() { defer close(asked); _, _ = eng2.Run(runCtx, "appr-r") }()
	<-asked
	s, err := eng.Load(ctx, "appr-r")
	if err != nil {
		t.Fatal(err)
	}
	_, firstSeq, ok := s.WaitingApproval("go-ahead")
	if !ok {
		t.Fatalf("go-ahead is %s; want it waiting for approval", s.Steps["go-ahead"].Status)
	}
	if err := eng.Reject(ctx, "appr-r", "bob (tok_2)", engine.ApprovalRequest{Step: "go-ahead", Comment: "replication is behind"}); err != nil {
		t.Fatal(err)
	}
	s = e.run(eng, "appr-r")
	wantState(t, s, ripcord.ExecPaused)
	if st := s.Steps["go-ahead"]; st.Status != "failed" || st.Reason != "rejected by bob (tok_2): replication is behind" {
		t.Errorf("step go-ahead %s (%s)", st.Status, st.Reason)
	}
	if len(e.jobsOf(web1)) != 0 {
		t.Errorf("web launched after the rejection")
	}
	// A retry asks again; a decision naming the first request is refused.
	if err := eng.Retry(ctx, "appr-r", "bob (tok_2)", "go-ahead"); err != nil {
		t.Fatal(err)
	}
	runCtx, stop = context.WithCancel(ctx)
	defer stop()
	asked = make(chan struct{})
	go func() { defer close(asked); _, _ = eng2.Run(runCtx, "appr-r") }()
	<-asked
	err = eng.Approve(ctx, "appr-r", "alice (tok_1)", engine.ApprovalRequest{Step: "go-ahead", Seq: firstSeq})
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), "earlier wait") {
		t.Errorf("approving the first request after the retry: %v; want ECONFLICT", err)
	}
	if err := eng.Approve(ctx, "appr-r", "alice (tok_1)", engine.ApprovalRequest{Step: "go-ahead", Comment: "caught up"}); err != nil {
		t.Fatal(err)
	}
	s = e.run(eng, "appr-r")
	wantState(t, s, ripcord.ExecSucceeded)
	if len(s.Approvals) != 2 || s.Approvals[0].Decision != engine.ApprovalRejected || s.Approvals[1].Decision != engine.ApprovalApproved {
		t.Errorf("approvals %+v; want the rejection, then the approval", s.Approvals)
	}
	if n := len(evData[engine.ApprovalRequested](t, e.events("appr-r"), engine.EvApprovalRequested)); n != 2 {
		t.Errorf("%d requests; want 2 (the retry asks again)", n)
	}
}

// TestApprovalGuards: approval events apply only while the step waits for
// a decision; the fold passes over the others.
func TestApprovalGuards(t *testing.T) {
	sp := approvalSpec(ripcord.FailureStop, 0, "")
	ev := func(typ string, data string) ripcord.Event {
		return ripcord.Event{Type: typ, Actor: "x", At: t0, Data: []byte(data)}
	}
	start := ripcord.Event{Type: engine.EvExecutionStarted, At: t0, Data: mustJSON(t, sp)}
	grant := ev(engine.EvApprovalGranted, `{"step":"go-ahead"}`)
	for _, tc := range []struct {
		name string
		evs  []ripcord.Event
	}{
		{"granted before the step runs", []ripcord.Event{start, grant}},
		{"requested before the step runs", []ripcord.Event{start, ev(engine.EvApprovalRequested, `{"step":"go-ahead"}`)}},
		{"requested for a launch step", []ripcord.Event{start, ev(engine.EvStepStarted, `{"step":"database"}`), ev(engine.EvApprovalRequested, `{"step":"database"}`)}},
		{"granted before it is asked", []ripcord.Event{start, ev(engine.EvStepStarted, `{"step":"go-ahead"}`), grant}},
		{"granted twice", []ripcord.Event{start, ev(engine.EvStepStarted, `{"step":"go-ahead"}`), ev(engine.EvApprovalRequested, `{"step":"go-ahead"}`), grant, grant}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.evs {
				tc.evs[i].Seq = int64(i + 1)
			}
			s, err := engine.Fold("g", tc.evs)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Approvals); n > 1 || (n == 1 && tc.name != "granted twice") {
				t.Errorf("%d decisions applied", n)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
