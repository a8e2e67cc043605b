package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/examples"
	"github.com/ripcord-dr/ripcord/plan"
)

// Missing permissions, end to end: the simulator's role permissions
// (drssim iam.go), the adapter's access-denied errors and the engine's
// pause for a permanent error; and the drill policy ripcord iam-policy
// prints (drs.Policy), loaded as the role's allow list.

const iamRole = "arn:aws:iam::111122223333:role/ripcord-drill"

// iamEnv is the three-tier scenario with a role in its account that the
// test's key may assume (allow: nil lets it do everything), and a DRS
// client that calls through that role.
func iamEnv(t *testing.T, allow []string) (*env, ripcord.DRS) {
	t.Helper()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Roles = append(sc.Roles, drssim.RoleSpec{Name: "ripcord-drill", Principals: []string{"111122223333"},
		ExternalID: "orders-dr-7f3a", Allow: allow})
	e := newEnv(t, sc)
	api, err := drs.New(context.Background(), drs.Config{
		Region: "us-east-1", Endpoint: e.srv.URL, STSEndpoint: e.srv.URL, RoleARN: iamRole, ExternalID: "orders-dr-7f3a",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RateLimit:   10000, RetryBackoff: noWait{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, api
}

// TestMissingPermissionPauses (issue 11's proof): the role loses
// drs:StartRecovery after the first wave; the execution pauses at the next
// step with a message naming the role and the action, and a remedy that
// says what to grant. Granting it back and resuming finishes the drill.
func TestMissingPermissionPauses(t *testing.T) {
	t.Parallel() // its own simulator and store
	e, api := iamEnv(t, nil)
	var revoked bool
	eng := e.engineWith(func(c *engine.Config) {
		c.Targets = map[string]ripcord.DRS{"prod": api}
		c.OnEvent = func(_ *engine.State, ev ripcord.Event) {
			if ev.Type == engine.EvJobCreated && !revoked {
				revoked = true
				if err := e.sim.Revoke(iamRole, "drs:StartRecovery"); err != nil {
					t.Error(err)
				}
			}
		}
	})
	e.start(eng, "exec-iam", chain(ripcord.FailureStop))
	s := e.run(eng, "exec-iam")
	wantState(t, s, ripcord.ExecPaused)
	t.Logf("paused: %s\nremedy: %s", s.PauseReason, s.PauseRemedy)
	for _, want := range []string{"step app", "role " + iamRole, "is not allowed drs:StartRecovery", "AccessDeniedException"} {
		if !strings.Contains(s.PauseReason, want) {
			t.Errorf("pause reason %q lacks %q", s.PauseReason, want)
		}
	}
	for _, want := range []string{"grant drs:StartRecovery to role " + iamRole, "ripcord iam-policy"} {
		if !strings.Contains(s.PauseRemedy, want) {
			t.Errorf("pause remedy %q lacks %q", s.PauseRemedy, want)
		}
	}
	if st := s.Steps["database"]; st.Status != "succeeded" {
		t.Errorf("the first wave launched before the grant was lost: %s", st.Status)
	}
	if n := e.sim.STS().Denied["drs:StartRecovery"]; n != 1 {
		t.Errorf("StartRecovery refused %d times; want once, then the pause (a permanent error is not retried)", n)
	}

	if err := e.sim.Grant(iamRole, "drs:StartRecovery"); err != nil {
		t.Fatal(err)
	}
	if err := eng.Resume(context.Background(), "exec-iam", "tester"); err != nil {
		t.Fatal(err)
	}
	s = e.run(eng, "exec-iam")
	wantState(t, s, ripcord.ExecSucceeded)
	if n := e.sim.STS().Denied["drs:StartRecovery"]; n != 1 {
		t.Errorf("refused %d times in all", n)
	}
}

// drill is how a drill of the example plan went: Begin's error, or the
// final state and what the driver logged.
type drill struct {
	begin error
	s     *engine.State
	log   string
}

// drillTo begins a drill of the example three-tier plan (its servers
// resolved in DRS, cleanup as soon as it ends) through api and drives it
// to its end.
func drillTo(t *testing.T, e *env, api ripcord.DRS, file *ripcord.PlanFile) drill {
	t.Helper()
	var log bytes.Buffer
	eng := e.engineWith(func(c *engine.Config) {
		c.Targets = map[string]ripcord.DRS{"dr": api}
		c.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &log}, nil))
	})
	b, err := eng.Begin(context.Background(), engine.BeginRequest{File: file, Plan: "orders", Mode: ripcord.ModeDrill, CleanupAtEnd: true})
	if err != nil {
		return drill{begin: err}
	}
	s := e.run(eng, b.ID)
	return drill{s: s, log: log.String()}
}

// syncWriter serializes writes to w: the driver logs from more than one
// goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// TestDrillPolicyIsLeastPrivilege loads the drill policy ripcord
// iam-policy prints for the example plan (drs.Policy of plan.Selections:
// its servers selected by tags) as the role's allow list: the drill runs
// to completion, cleanup and launch-configuration fingerprints included,
// and no request is refused. Without any one of the DRS actions the policy
// grants for a drill's own calls, it does not, and what the operator sees
// names the action and the role: Begin's error, the pause, the refusal
// recorded with the fingerprints, or (for a cleanup stopped after the
// drill ended, which records no pause) the driver's log.
func TestDrillPolicyIsLeastPrivilege(t *testing.T) {
	t.Parallel() // its own simulators and stores
	file, err := plan.Decode("three-tier.yaml", examples.ThreeTier)
	if err != nil {
		t.Fatal(err)
	}
	sels, err := plan.Selections(file, "orders")
	if err != nil || len(sels) != 1 || len(sels[0].Selectors) != 3 {
		t.Fatalf("selections %+v, %v", sels, err)
	}
	policy := drs.Policy(drs.PolicyTarget{Account: sels[0].Target.Account, Region: sels[0].Target.Region,
		Servers: sels[0].Servers, Selectors: sels[0].Selectors}, drs.ModeDrill)
	allow := policy.Actions()

	clean := func(d drill) bool {
		return d.begin == nil && d.s.State == ripcord.ExecSucceeded && d.s.Cleanup.Done && d.s.LaunchConfigsError == "" && len(d.s.LaunchConfigs) == 6
	}
	e, api := iamEnv(t, allow)
	if d := drillTo(t, e, api, file); !clean(d) {
		t.Fatalf("the drill policy's drill: begin %v, state %+v", d.begin, d.s)
	}
	if d := e.sim.STS().Denied; len(d) != 0 {
		t.Errorf("refused under the drill policy: %v", d)
	}

	// Actions a clean drill does not call: the job log is read only to
	// explain a server that failed, recovery snapshots only by readiness
	// checks. Their grants are for those.
	notInCleanDrill := map[string]bool{"drs:DescribeJobLogItems": true, "drs:DescribeRecoverySnapshots": true}
	var checked int
	for _, p := range drs.Permissions {
		if p.Uses&(drs.UseDrill|drs.UseCheck) == 0 || p.OnlyForOverrides { // the example has no launch overrides
			continue
		}
		for _, action := range p.Actions() {
			checked++
			t.Run(action, func(t *testing.T) {
				t.Parallel()
				if !slices.Contains(allow, action) {
					t.Fatalf("the drill policy lacks %s, which a drill or a check calls", action)
				}
				e, api := iamEnv(t, slices.DeleteFunc(slices.Clone(allow), func(a string) bool { return a == action }))
				d := drillTo(t, e, api, file)
				denied := e.sim.STS().Denied[action]
				if notInCleanDrill[action] {
					if !clean(d) || denied != 0 {
						t.Errorf("without %s: begin %v, %d refusals; want a clean drill that never needs it", action, d.begin, denied)
					}
					return
				}
				if clean(d) || denied == 0 {
					t.Fatalf("without %s the drill ran clean (%d refusals): the policy grants more than a drill needs", action, denied)
				}
				var said string
				switch {
				case d.begin != nil:
					said = d.begin.Error()
				case d.s.State == ripcord.ExecPaused:
					said = d.s.PauseReason
				case d.s.LaunchConfigsError != "":
					said = d.s.LaunchConfigsError
				default:
					said = d.log
				}
				if !strings.Contains(said, "is not allowed "+action) || !strings.Contains(said, iamRole) {
					t.Errorf("without %s: %q; want the action and the role named", action, said)
				}
				t.Logf("without %s: %.300s", action, said)
			})
		}
	}
	if checked < 9 {
		t.Errorf("%d actions checked", checked)
	}
}

// TestRefusedCleanupIsNotSilent: the role loses drs:TerminateRecoveryInstances
// before an ended drill's cleanup. The drill stays succeeded, its cleanup
// shows failed with the role, the action and what to grant (the summary
// every surface shows), and the people notified hear of it once, not once
// per attempt. Granting it back, the next driver verifies the cleanup and
// the failure is gone.
func TestRefusedCleanupIsNotSilent(t *testing.T) {
	t.Parallel() // its own simulator and store
	e, api := iamEnv(t, nil)
	eng := e.engineWith(func(c *engine.Config) { c.Targets = map[string]ripcord.DRS{"prod": api} })
	ctx := context.Background()
	drillRefusedCleanup(t, e, eng, "exec-clean")
	e.run(eng, "exec-clean") // a second attempt, as the supervisor makes: refused again
	s, err := eng.Load(ctx, "exec-clean")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, s, ripcord.ExecSucceeded)
	sum := s.Summarize(0)
	t.Logf("cleanup %s: %s", sum.Cleanup, sum.CleanupFailed)
	if sum.Cleanup != "failed" {
		t.Fatalf("cleanup %q (%s); want failed", sum.Cleanup, sum.CleanupFailed)
	}
	for _, want := range []string{"role " + iamRole, "drs:TerminateRecoveryInstances", "grant drs:TerminateRecoveryInstances"} {
		if !strings.Contains(sum.CleanupFailed, want) {
			t.Errorf("the cleanup's failure %q lacks %q", sum.CleanupFailed, want)
		}
	}
	if n := e.sim.STS().Denied["drs:TerminateRecoveryInstances"]; n != 2 {
		t.Errorf("TerminateRecoveryInstances refused %d times; want once per attempt, 2", n)
	}
	notices := func() []engine.Notice { return cleanupNotices(t, e, "exec-clean") }
	if ns := notices(); len(ns) != 1 || ns[0].Verdict != "failed" || ns[0].Reason != sum.CleanupFailed {
		t.Errorf("cleanup notices %+v; want one, failed, with the summary's reason", ns)
	}

	if err := e.sim.Grant(iamRole, "drs:TerminateRecoveryInstances"); err != nil {
		t.Fatal(err)
	}
	s = e.run(eng, "exec-clean")
	if sum := s.Summarize(0); sum.Cleanup != "done" || sum.CleanupFailed != "" || s.Cleanup.Instances != 6 {
		t.Errorf("after the grant: cleanup %q (%q), %d instances; want done, 6", sum.Cleanup, sum.CleanupFailed, s.Cleanup.Instances)
	}
	if ns := notices(); len(ns) != 2 || ns[1].Verdict != "done" {
		t.Errorf("cleanup notices %+v; want failed, then done", ns)
	}
}

// TestCleanupFailureSurvivesAStop: a cleanup refused after the drill
// ended shows failed; a driver that is then stopped (SIGTERM) says
// nothing of the cleanup, so it still shows failed, and the next identical
// refusal does not notify again.
func TestCleanupFailureSurvivesAStop(t *testing.T) {
	t.Parallel() // its own simulator and store
	e, api := iamEnv(t, nil)
	stopOnce := false
	eng := e.engineWith(func(c *engine.Config) {
		c.Targets = map[string]ripcord.DRS{"prod": api}
		c.Hooks.DuringCleanup = func() error {
			if stopOnce {
				stopOnce = false
				return fmt.Errorf("SIGTERM: %w", engine.ErrStopped)
			}
			return nil
		}
	})
	ctx := context.Background()
	drillRefusedCleanup(t, e, eng, "exec-clean")
	stopOnce = true
	if _, err := eng.Run(ctx, "exec-clean"); !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("the stopped cleanup: %v; want ErrStopped", err)
	}
	s, err := eng.Load(ctx, "exec-clean")
	if err != nil {
		t.Fatal(err)
	}
	if sum := s.Summarize(0); sum.Cleanup != "failed" {
		t.Errorf("after a stop the cleanup is %q; want still failed", sum.Cleanup)
	}
	e.run(eng, "exec-clean") // refused again, for the same reason
	if n := len(cleanupNotices(t, e, "exec-clean")); n != 1 {
		t.Errorf("%d cleanup notices for one unchanged reason; want 1", n)
	}
}

// drillRefusedCleanup runs drill id of the example chain to its end with
// its cleanup requested and drs:TerminateRecoveryInstances revoked from
// the role eng calls through: the cleanup is refused.
func drillRefusedCleanup(t *testing.T, e *env, eng *engine.Engine, id string) {
	t.Helper()
	e.start(eng, id, chain(ripcord.FailureStop))
	if err := e.sim.Revoke(iamRole, "drs:TerminateRecoveryInstances"); err != nil {
		t.Fatal(err)
	}
	if err := eng.Cleanup(context.Background(), id, "tester"); err != nil {
		t.Fatal(err)
	}
	e.run(eng, id)
}

// cleanupNotices are the cleanup notifications execution id's log makes
// (engine.ApplyNotice, as the dispatcher reads it).
func cleanupNotices(t *testing.T, e *env, id string) (out []engine.Notice) {
	t.Helper()
	st := engine.NewState(id)
	for _, ev := range e.events(id) {
		n, ok, err := st.ApplyNotice(ev)
		if err != nil {
			t.Fatal(err)
		}
		if ok && n.Kind == ripcord.NotifyCleanup {
			out = append(out, n)
		}
	}
	return out
}
