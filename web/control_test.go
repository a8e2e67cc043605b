package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/web"
)

// recordingExecutions is a narrow stand-in for ripcord serve's supervisor,
// for the API's own checks (roles, input, audit): Begin records an
// execution of the request's plan version with the request's actor, and
// Control records the call. The real supervisor behind the real API is
// tested end to end in cmd/ripcord (TestServeStartsAndControls).
type recordingExecutions struct {
	e     *env
	mu    sync.Mutex
	calls []string
	n     int
}

func (r *recordingExecutions) Begin(ctx context.Context, req engine.BeginRequest) (engine.Begun, error) {
	r.mu.Lock()
	r.n++
	id := fmt.Sprintf("%s-started-%d", req.Plan, r.n)
	r.calls = append(r.calls, fmt.Sprintf("begin %s %s by %s", req.Plan, req.Mode, req.Actor))
	r.mu.Unlock()
	one, err := req.File.Extract(req.Plan)
	if err != nil {
		return engine.Begun{}, err
	}
	x := ripcord.Execution{ID: id, PlanName: req.Plan, PlanHash: one.Hash(), Mode: req.Mode, State: ripcord.ExecRunning,
		Started: r.e.clock.Now(), Actor: req.Actor}
	spec := engine.Spec{Plan: req.Plan, PlanHash: one.Hash(), Mode: req.Mode}
	if err := r.e.store.CreateExecution(ctx, x, []ripcord.Event{ev(engine.EvExecutionStarted, x.Started, spec)}); err != nil {
		return engine.Begun{}, err
	}
	return engine.Begun{ID: id, Spec: spec}, nil
}

func (r *recordingExecutions) Control(_ context.Context, id, action, actor, step string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, strings.TrimSpace(fmt.Sprintf("%s %s by %s %s", action, id, actor, step)))
	return nil
}

func withExecutions(r *recordingExecutions) func(*web.Config) {
	return func(c *web.Config) { c.Executions = r }
}

// TestStartAndControlChecks: a recovery needs role recovery and the plan's
// name again; controlling a recovery needs role recovery; the actor is the
// token's; bad bodies and actions are refused; every change is audited.
func TestStartAndControlChecks(t *testing.T) {
	rec := &recordingExecutions{}
	e := newEnv(t, withExecutions(rec))
	rec.e = e
	e.savePlans(orders)
	op, rc := e.client(e.secrets[ripcord.RoleOperator]), e.client(e.secrets[ripcord.RoleRecovery])
	ctx := e.ctx

	x, err := op.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill, CleanupAfter: "30m"})
	if err != nil || x.Mode != ripcord.ModeDrill || x.Actor != e.tokens[ripcord.RoleOperator].Name+" ("+e.tokens[ripcord.RoleOperator].ID+")" {
		t.Fatalf("operator starts a drill: %+v, %v; want it recorded with the token's identity", x, err)
	}
	before := e.snapshot()
	for _, tc := range []struct {
		c    *client.Client
		rq   client.StartRequest
		code string
	}{
		{op, client.StartRequest{Plan: "orders", Mode: ripcord.ModeRecovery, Confirm: "orders"}, client.EFORBIDDEN},
		{rc, client.StartRequest{Plan: "orders", Mode: ripcord.ModeRecovery}, ripcord.EINVALID},
		{rc, client.StartRequest{Plan: "orders", Mode: ripcord.ModeRecovery, Confirm: "other"}, ripcord.EINVALID},
		{rc, client.StartRequest{Plan: "orders", Mode: ripcord.ModeRecovery, Confirm: "orders", CleanupAfter: "1h"}, ripcord.EINVALID},
		{op, client.StartRequest{Plan: "orders", Mode: "chaos"}, ripcord.EINVALID},
		{op, client.StartRequest{Plan: "<script>", Mode: ripcord.ModeDrill}, ripcord.EINVALID},
		{op, client.StartRequest{Plan: "nothing-saved", Mode: ripcord.ModeDrill}, ripcord.ENOTFOUND},
		{op, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill, CleanupAfter: "soon"}, ripcord.EINVALID},
	} {
		if _, err := tc.c.Start(ctx, tc.rq); !client.IsCode(err, tc.code) {
			t.Errorf("start %+v: %v; want %s", tc.rq, err, tc.code)
		}
	}
	e.sameStore(before, "refused starts")
	rx, err := rc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeRecovery, Confirm: "orders"})
	if err != nil {
		t.Fatalf("recovery role starts a confirmed recovery: %v", err)
	}

	if _, err := op.Control(ctx, x.ID, "pause", ""); err != nil {
		t.Errorf("operator pauses a drill: %v", err)
	}
	if _, err := op.Control(ctx, x.ID, "retry", "database"); err != nil {
		t.Errorf("operator retries a step of a drill: %v", err)
	}
	before = e.snapshot()
	if _, err := op.Control(ctx, rx.ID, "cancel", ""); !client.IsCode(err, client.EFORBIDDEN) {
		t.Errorf("operator cancels a recovery: %v; want %s", err, client.EFORBIDDEN)
	}
	if _, err := op.Control(ctx, x.ID, "retry", ""); !client.IsCode(err, ripcord.EINVALID) {
		t.Errorf("retry without a step: %v; want %s", err, ripcord.EINVALID)
	}
	if _, err := op.Control(ctx, x.ID, "pause", "database"); !client.IsCode(err, ripcord.EINVALID) {
		t.Errorf("pause with a step: %v; want %s", err, ripcord.EINVALID)
	}
	if _, err := op.Control(ctx, x.ID, "detonate", ""); !client.IsCode(err, ripcord.ENOTFOUND) {
		t.Errorf("an unknown action: %v; want %s", err, ripcord.ENOTFOUND)
	}
	if _, err := op.Control(ctx, "no-such-execution", "pause", ""); !client.IsCode(err, ripcord.ENOTFOUND) {
		t.Errorf("an unknown execution: %v; want %s", err, ripcord.ENOTFOUND)
	}
	status, h, body := e.raw("POST", "/api/v1/executions/"+x.ID+"/pause", e.secrets[ripcord.RoleOperator], []byte(`{"step":"a","actor":"mallory"}`),
		map[string]string{"Content-Type": "application/json"})
	if status != http.StatusBadRequest || errorOf(t, status, h, body).Code != ripcord.EINVALID {
		t.Errorf("a body with an unknown field (an actor): %d %s; want 400", status, body)
	}
	e.sameStore(before, "refused controls")
	if _, err := rc.Control(ctx, rx.ID, "cancel", ""); err != nil {
		t.Errorf("recovery role cancels a recovery: %v", err)
	}

	opName := e.tokens[ripcord.RoleOperator].Name + " (" + e.tokens[ripcord.RoleOperator].ID + ")"
	rcName := e.tokens[ripcord.RoleRecovery].Name + " (" + e.tokens[ripcord.RoleRecovery].ID + ")"
	want := []string{
		"begin orders drill by " + opName,
		"begin orders recovery by " + rcName,
		"pause " + x.ID + " by " + opName,
		"retry " + x.ID + " by " + opName + " database",
		"cancel " + rx.ID + " by " + rcName,
	}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
	audit, err := e.store.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		if strings.HasPrefix(a.Action, "execution.") {
			actions = append(actions, a.Action+" "+a.Object+" "+a.Actor)
		}
	}
	wantAudit := []string{"execution.start " + x.ID + " " + opName, "execution.start " + rx.ID + " " + rcName,
		"execution.pause " + x.ID + " " + opName, "execution.retry " + x.ID + " " + opName, "execution.cancel " + rx.ID + " " + rcName}
	if strings.Join(actions, "\n") != strings.Join(wantAudit, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(wantAudit, "\n"))
	}
}

// TestStartWithoutSupervisor: a server that drives nothing answers 503.
func TestStartWithoutSupervisor(t *testing.T) {
	e := newEnv(t)
	e.savePlans(orders)
	if _, err := e.client(e.secrets[ripcord.RoleOperator]).Start(e.ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill}); !client.IsCode(err, ripcord.EUNAVAILABLE) {
		t.Errorf("start on a server without a supervisor: %v; want %s", err, ripcord.EUNAVAILABLE)
	}
}

// TestAuditKeepsOddInput: a step name with a NUL byte (valid in JSON, not
// in the store's text) is audited with it replaced, not lost with an error
// after the action was taken.
func TestAuditKeepsOddInput(t *testing.T) {
	rec := &recordingExecutions{}
	e := newEnv(t, withExecutions(rec))
	rec.e = e
	e.savePlans(orders)
	op := e.client(e.secrets[ripcord.RoleOperator])
	x, err := op.Start(e.ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Control(e.ctx, x.ID, "retry", "db\x00x"); err != nil {
		t.Fatalf("retry of an odd step: %v; want it taken and audited", err)
	}
	audit, err := e.store.ListAudit(e.ctx, ripcord.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if last := audit[len(audit)-1]; last.Action != "execution.retry" || last.Detail != "step db\uFFFDx" {
		t.Errorf("last audit entry %+v; want the retry with the NUL replaced", last)
	}
}

// fixedInventory is a narrow stand-in for DRS's source servers and job
// logs, for the API's and the console's own checks: every target holds the
// three servers of the fixtures (the web tier's stalled). The real
// supervisor behind the API is tested in cmd/ripcord (TestServeInventory,
// TestConsolePagesInBrowser). The zero value answers.
type fixedInventory struct {
	// logs is each job's log, by job ID; a job it lacks has fixedJobLog.
	logs map[string][]ripcord.JobLogItem
	// down, when set, is every call's answer: DRS does not answer.
	down error
	// jobLogCalls, when set, counts the calls of JobLog.
	jobLogCalls *atomic.Int32
}

func (f fixedInventory) SourceServers(context.Context, ripcord.Target) ([]ripcord.SourceServer, error) {
	if f.down != nil {
		return nil, f.down
	}
	server := func(id, tier, state string) ripcord.SourceServer {
		return ripcord.SourceServer{ID: id, Hostname: tier + "-1", ReplicationState: state, Tags: map[string]string{"Application": "orders", "Tier": tier}}
	}
	return []ripcord.SourceServer{server(serverID, "database", ripcord.ReplicationContinuous),
		server("s-2234567890abcdef0", "app", ripcord.ReplicationContinuous), server("s-3234567890abcdef0", "web", ripcord.ReplicationStalled)}, nil
}

func (f fixedInventory) JobLog(_ context.Context, _ ripcord.Target, jobID string) ([]ripcord.JobLogItem, error) {
	if f.jobLogCalls != nil {
		f.jobLogCalls.Add(1)
	}
	if f.down != nil {
		return nil, f.down
	}
	if l, ok := f.logs[jobID]; ok {
		return l, nil
	}
	return fixedJobLog(time.Date(2026, 11, 25, 9, 1, 0, 0, time.UTC), serverID, true), nil
}

// fixedJobLog is a job's log as DRS writes it for one server launched (or
// still launching, without its end) from at on.
func fixedJobLog(at time.Time, server string, ended bool) []ripcord.JobLogItem {
	l := []ripcord.JobLogItem{{At: at, Event: "JOB_START"},
		{At: at.Add(time.Second), Event: "SNAPSHOT_START", SourceServerID: server},
		{At: at.Add(time.Minute), Event: "CONVERSION_START", SourceServerID: server, ConversionServerID: "i-conv1"},
		{At: at.Add(3 * time.Minute), Event: "LAUNCH_START", SourceServerID: server, TargetInstanceID: "i-1"}}
	if ended {
		l = append(l, ripcord.JobLogItem{At: at.Add(5 * time.Minute), Event: "JOB_END"})
	}
	return l
}

// TestInventory: targets and protection groups come from each plan's latest
// version; a plan's servers come from DRS (here the fixed inventory), with
// readiness and the steps and groups that launch each; without an
// inventory the servers endpoint answers 503.
func TestInventory(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.Inventory = fixedInventory{} })
	e.savePlans(orders)
	c := e.client(e.secrets[ripcord.RoleViewer])
	targets, err := c.Targets(e.ctx)
	if err != nil || len(targets) != 1 || targets[0] != (client.TargetInfo{Plan: "orders", Name: "dr", Account: "111122223333", Region: "us-east-1"}) {
		t.Errorf("targets %+v, %v", targets, err)
	}
	groups, err := c.ProtectionGroups(e.ctx)
	if err != nil || len(groups) != 3 || groups[0].Name != "orders-app" || groups[0].Selector["Tier"] != "app" || groups[2].Name != "orders-web" {
		t.Errorf("groups %+v, %v", groups, err)
	}
	servers, err := c.PlanServers(e.ctx, "orders")
	if err != nil || len(servers) != 3 {
		t.Fatalf("servers %+v, %v", servers, err)
	}
	if s := servers[0]; s.ID != serverID || !s.Ready || strings.Join(s.Steps, ",") != "database" || strings.Join(s.Groups, ",") != "orders-db" {
		t.Errorf("server %+v; want ready, launched by step database through group orders-db", s)
	}
	if s := servers[2]; s.Ready || !strings.Contains(s.Why, "stalled") || strings.Join(s.Steps, ",") != "web" {
		t.Errorf("server %+v; want not ready (stalled), launched by step web", s)
	}
	if _, err := c.PlanServers(e.ctx, "nothing"); !client.IsCode(err, ripcord.ENOTFOUND) {
		t.Errorf("servers of an unknown plan: %v", err)
	}
	bare := newEnv(t)
	bare.savePlans(orders)
	if _, err := bare.client(bare.secrets[ripcord.RoleViewer]).PlanServers(bare.ctx, "orders"); !client.IsCode(err, ripcord.EUNAVAILABLE) {
		t.Errorf("servers without an inventory: %v; want %s", err, ripcord.EUNAVAILABLE)
	}
}
