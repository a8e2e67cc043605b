package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/ec2ssm"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/report"
)

// The four-tier scenario (testdata/fourtier.yaml): database and app in the
// caller's own account, cache and web in another account and region,
// reached through the role ripcord-dr with an external ID.
const (
	eastAccount = "111122223333"
	eastRegion  = "us-east-1"
	westAccount = "444455556666"
	westRegion  = "us-west-2"
	westRole    = "arn:aws:iam::444455556666:role/ripcord-dr"
	westExtID   = "orders-dr-4t"

	cache1 = "s-4ca5e0c0ffee00a01"
	webW1  = "s-4e0b0d1e5c0de0b01"
	webW2  = "s-4e0b0d1e5c0de0b02"
)

// fourTierPlan is the plan file: database (EC2 status gate, after hook
// promote), app after it and cache (the other account) alongside app,
// the approval go-ahead after both, web (an HTTP gate with a templated
// URL), then the DNS switch, a hook step that runs only in a recovery.
// %[1]s is the simulator, %[2]s the promote receiver, %[3]s the web
// servers' health endpoint, %[4]s the DNS receiver.
const fourTierPlan = `
targets:
  - {name: east, account: "111122223333", region: us-east-1, endpoint: "%[1]s"}
  - name: west
    account: "444455556666"
    region: us-west-2
    roleArn: arn:aws:iam::444455556666:role/ripcord-dr
    externalId: orders-dr-4t
    endpoint: "%[1]s"
protectionGroups:
  - {name: orders-db, target: east, selector: {Application: orders, Tier: database}}
  - {name: orders-app, target: east, selector: {Application: orders, Tier: app}}
  - {name: orders-cache, target: west, selector: {Application: orders, Tier: cache}}
  - {name: orders-web, target: west, selector: {Application: orders, Tier: web}}
plans:
  - name: orders
    rto: 2h
    failurePolicy: stop
    waves:
      - name: database
        groups: [orders-db]
        health:
          - {type: ec2Status, interval: 15s, timeout: 20m}
        hooks:
          after:
            - name: promote
              http:
                url: "%[2]s/promote"
                body: '{"execution": "{{.ExecutionID}}", "mode": "{{.Mode}}", "step": "{{.Step}}"}'
      - name: app
        groups: [orders-app]
      - name: go-ahead
        kind: approval
        after: [cache]
        message: The database is promoted. Check the cache, then approve the web tier.
        approverRoles: [recovery]
        approvers: [alice]
        timeout: 2h
      - name: web
        groups: [orders-web]
        health:
          - {type: http, url: "%[3]s/healthz?instance={{.InstanceID}}", status: 200, body: '"status": *"ok"', interval: 10s, timeout: 5m}
      - name: switch-dns
        kind: hook
        hook:
          name: dns
          modes: [recovery]
          http:
            method: POST
            url: "%[4]s/dns"
            body: '{"mode": "{{.Mode}}", "instances": [{{range $i, $s := .Servers}}{{if $i}},{{end}}"{{$s.InstanceID}}"{{end}}]}'
    steps:
      - name: cache
        groups: [orders-cache]
        after: [database]
`

// fourTierWhere is where each server of the plan lives.
var fourTierWhere = map[string][2]string{
	db1: {eastAccount, eastRegion}, db2: {eastAccount, eastRegion},
	app1: {eastAccount, eastRegion}, app2: {eastAccount, eastRegion},
	cache1: {westAccount, westRegion},
	webW1:  {westAccount, westRegion}, webW2: {westAccount, westRegion},
}

// webHealth is the web servers' health endpoint: per instance (from the
// templated URL) it answers 503 once, then 200 with the expected body.
type webHealth struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newWebHealth(t *testing.T) *webHealth {
	w := &webHealth{calls: map[string]int{}}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		in := r.URL.Query().Get("instance")
		w.mu.Lock()
		w.calls[in]++
		n := w.calls[in]
		w.mu.Unlock()
		if n == 1 {
			http.Error(rw, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(rw, `{"status": "ok"}`)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webHealth) count(instance string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[instance]
}

// fourTierEngine is an engine with the plan's two targets: east with the
// test's own key, west through AssumeRole (with the external ID) in the
// simulator's STS. Health checks reach the simulator's EC2 with the same
// identities (drs.LoadAWSConfig, as cmd/ripcord does).
func fourTierEngine(t *testing.T, e *env, clock engine.Clock) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	cfgs := map[string]drs.Config{
		"east": {Region: eastRegion, Endpoint: e.srv.URL, STSEndpoint: e.srv.URL,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RateLimit: 10000, RetryBackoff: noWait{}},
		"west": {Region: westRegion, Endpoint: e.srv.URL, STSEndpoint: e.srv.URL, RoleARN: westRole, ExternalID: westExtID,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RateLimit: 10000, RetryBackoff: noWait{}},
	}
	targets := map[string]ripcord.DRS{}
	instances := map[string]ripcord.Instances{}
	for name, cfg := range cfgs {
		api, err := drs.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		awsCfg, err := drs.LoadAWSConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		targets[name], instances[name] = api, ec2ssm.New(awsCfg, e.srv.URL, ec2ssm.ForChecks)
	}
	return e.engineWith(func(c *engine.Config) {
		c.Targets, c.Instances, c.Clock = targets, instances, clock
	})
}

// regionOf is the simulator's view of one account and region.
func (e *env) regionOf(account, region string) drssim.RegionView {
	e.t.Helper()
	st := e.sim.State(drssim.StateFilter{Account: account, Region: region})
	if len(st.Regions) != 1 {
		e.t.Fatalf("%s/%s: %d regions", account, region, len(st.Regions))
	}
	return st.Regions[0]
}

// TestFourTierDrillAndRecovery is the combined proof of issue 11: a
// four-tier plan across two accounts and two regions, with an approval
// before the web tier, a database-promotion hook, and EC2 status and HTTP
// health gates. The drill waits at the approval (web is not launched until
// alice approves, twenty simulated minutes later), then runs to
// completion: every server launched once, in its own account and region;
// promote called once; the DNS switch recorded as skipped and never
// called; the report has the RTO to launched and to healthy and the
// approval. A recovery of the same plan (a fresh simulator and store)
// calls the DNS switch exactly once.
func TestFourTierDrillAndRecovery(t *testing.T) {
	for _, mode := range []ripcord.Mode{ripcord.ModeDrill, ripcord.ModeRecovery} {
		t.Run(string(mode), func(t *testing.T) {
			sc, err := drssim.LoadScenario("testdata/fourtier.yaml")
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, sc)
			tools, dnsAPI, web := newReceiver(t), newReceiver(t), newWebHealth(t)
			file, err := plan.Decode("orders.yaml", []byte(fmt.Sprintf(fourTierPlan, e.srv.URL, tools.URL, web.URL, dnsAPI.URL)))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const id = "exec-4t"

			// The approver: after each sleep of the driver, while
			// go-ahead waits, look at DRS; twenty minutes after the
			// request, approve.
			var eng *engine.Engine
			var asked time.Time
			var webJobsWhileWaiting, looks int
			approved := false
			clock := sleepHookClock{boundedClock: boundedClock{e.clock, e.clock.Now().Add(12 * time.Hour)}}
			clock.after = func() {
				s, err := eng.Load(ctx, id)
				if err != nil || approved {
					return
				}
				if _, _, ok := s.WaitingApproval("go-ahead"); !ok {
					return
				}
				if asked.IsZero() {
					asked = s.Steps["go-ahead"].Approval.Requested
				}
				looks++
				for _, j := range e.regionOf(westAccount, westRegion).Jobs {
					if j.Type == "LAUNCH" && !j.Foreign && (serverIn(j, webW1).SourceServerID != "" || serverIn(j, webW2).SourceServerID != "") {
						webJobsWhileWaiting++
					}
				}
				if st := s.Steps["web"].Status; st != "waiting" {
					t.Errorf("web is %s while go-ahead waits for approval", st)
				}
				if e.clock.Now().Sub(asked) >= 20*time.Minute {
					if err := eng.Approve(ctx, id, "alice (tok_1)", engine.ApprovalRequest{Step: "go-ahead", Comment: "db promoted, cache warm"}); err != nil {
						t.Errorf("approve: %v", err)
					}
					approved = true
				}
			}
			eng = fourTierEngine(t, e, clock)
			if _, err := eng.Begin(ctx, engine.BeginRequest{File: file, Plan: "orders", Mode: mode, ID: id}); err != nil {
				t.Fatal(err)
			}
			s := e.run(eng, id)
			wantState(t, s, ripcord.ExecSucceeded)
			evs := e.events(id)

			// The approval: asked once, waited on, web launched only after it.
			if !approved || looks < 2 || webJobsWhileWaiting != 0 {
				t.Fatalf("approved %v after %d looks while waiting, %d web LAUNCH jobs seen meanwhile: want an approval, several looks, no web job",
					approved, looks, webJobsWhileWaiting)
			}
			granted := seqOf(t, evs, engine.EvApprovalGranted, func(ripcord.Event) bool { return true })
			var grantedAt time.Time
			for _, ev := range evs {
				if ev.Seq == granted {
					grantedAt = ev.At
				}
				if ev.Type == engine.EvLaunchRequested && strings.Contains(string(ev.Data), `"step":"web"`) && ev.Seq < granted {
					t.Errorf("web launch requested at seq %d, before the approval at %d", ev.Seq, granted)
				}
			}
			if d := grantedAt.Sub(asked); d < 20*time.Minute || d > 21*time.Minute {
				t.Errorf("approved %s after the request; want about 20m", d)
			}
			for _, j := range e.regionOf(westAccount, westRegion).Jobs {
				for _, srv := range []string{webW1, webW2} {
					if j.Type == "LAUNCH" && serverIn(j, srv).SourceServerID != "" && j.Created.Before(grantedAt) {
						t.Errorf("web server %s in job %s created %s, before the approval at %s", srv, j.JobID, j.Created, grantedAt)
					}
				}
			}
			if cache, ga := s.Steps["cache"], s.Steps["go-ahead"]; cache.Ended.After(ga.Started) || s.Steps["app"].Ended.After(ga.Started) {
				t.Errorf("go-ahead started at %s, before app and cache ended (%s, %s)", ga.Started, s.Steps["app"].Ended, cache.Ended)
			}

			// Every server launched exactly once, by a job of its own
			// account and region, and its instance is there, of the
			// execution's mode; nothing of the plan launched anywhere else.
			instanceOf := map[string]string{}
			for _, st := range s.Steps {
				for sid, sv := range st.Servers {
					instanceOf[sid] = sv.InstanceID
				}
			}
			for _, where := range [][2]string{{eastAccount, eastRegion}, {westAccount, westRegion}} {
				rv := e.regionOf(where[0], where[1])
				launched := map[string]int{}
				for _, j := range rv.Jobs {
					if j.Type != "LAUNCH" || j.Foreign {
						continue
					}
					if j.Tags[ripcord.TagExecution] != id {
						t.Errorf("%s/%s: job %s carries tags %v, not the execution's", where[0], where[1], j.JobID, j.Tags)
					}
					for _, sv := range j.Servers {
						launched[sv.SourceServerID]++
					}
				}
				insts := map[string]drssim.InstanceView{}
				for _, in := range rv.Instances {
					insts[in.SourceServerID] = in
				}
				for sid, w := range fourTierWhere {
					want := 0
					if w == where {
						want = 1
					}
					if launched[sid] != want {
						t.Errorf("%s/%s: server %s in %d LAUNCH jobs, want %d", where[0], where[1], sid, launched[sid], want)
					}
					if want == 0 {
						continue
					}
					in, ok := insts[sid]
					if !ok || in.RecoveryInstanceID != instanceOf[sid] || in.IsDrill != (mode == ripcord.ModeDrill) {
						t.Errorf("%s/%s: server %s's instance %+v; want %s, drill %v", where[0], where[1], sid, in.RecoveryInstance, instanceOf[sid], mode == ripcord.ModeDrill)
					}
				}
			}
			// West was reached through the role, with its external ID.
			var westSessions int
			for _, ss := range e.sim.STS().Sessions {
				if ss.RoleARN == westRole && ss.Account == westAccount && ss.ExternalID == westExtID {
					westSessions++
				}
			}
			if westSessions == 0 {
				t.Errorf("no session of %s with the external ID: %+v", westRole, e.sim.STS().Sessions)
			}

			// The gates: database's EC2 status checks passed in the
			// simulator (east), and web's HTTP check was asked about each
			// web instance (west's IDs in the templated URL).
			pass := ended(t, evs, engine.EvHealthCheckPassed)
			if f := ended(t, evs, engine.EvHealthCheckFailed); len(f) != 0 {
				t.Fatalf("failed checks: %v", f)
			}
			for _, sid := range []string{db1, db2} {
				ev, ok := pass[sid+"/ec2Status"]
				if !ok {
					t.Fatalf("no ec2Status pass for %s: %v", sid, pass)
				}
				var checksPass time.Time
				for _, in := range e.regionOf(eastAccount, eastRegion).Instances {
					if in.SourceServerID == sid {
						checksPass = in.EC2.ChecksPass
					}
				}
				if ev.At.Before(checksPass) {
					t.Errorf("%s: gate passed at %s, before EC2's checks were ok at %s", sid, ev.At, checksPass)
				}
				if app := s.Steps["app"]; app.Started.Before(ev.At) {
					t.Errorf("app started at %s, before %s's gate passed at %s", app.Started, sid, ev.At)
				}
			}
			for _, sid := range []string{webW1, webW2} {
				if _, ok := pass[sid+"/http"]; !ok {
					t.Fatalf("no http pass for %s: %v", sid, pass)
				}
				if n := web.count(instanceOf[sid]); n != 2 {
					t.Errorf("web %s (instance %s): %d health requests, want 2 (a 503, then a 200)", sid, instanceOf[sid], n)
				}
			}

			// promote: once, after database's launches, before app.
			promote := tools.calls("/promote")
			if len(promote) != 1 || promote[0].Body != fmt.Sprintf(`{"execution": "%s", "mode": "%s", "step": "database"}`, id, mode) {
				t.Fatalf("promote calls %+v, want one for the database step in %s", promote, mode)
			}
			promoted := seqOf(t, evs, engine.EvHookSucceeded, func(ev ripcord.Event) bool { return strings.Contains(string(ev.Data), `"hook":"promote"`) })
			if appStart := seqOf(t, evs, engine.EvStepStarted, about("app")); promoted > appStart {
				t.Errorf("promote succeeded at seq %d, after app started at %d", promoted, appStart)
			}

			// The DNS switch: skipped in a drill, called once in a recovery.
			dns := dnsAPI.calls("/dns")
			skips := evData[engine.HookSkippedData](t, evs, engine.EvHookSkipped)
			if mode == ripcord.ModeDrill {
				if len(dns) != 0 {
					t.Fatalf("the DNS hook was called %d times in a drill", len(dns))
				}
				if len(skips) != 1 || skips[0].Step != "switch-dns" || skips[0].Hook != "dns" || skips[0].Reason != "runs only in a recovery, not in a drill" {
					t.Fatalf("skips %+v, want dns skipped as recovery-only", skips)
				}
			} else {
				if len(skips) != 0 {
					t.Fatalf("skips in a recovery: %+v", skips)
				}
				if len(dns) != 1 {
					t.Fatalf("the DNS hook was called %d times in a recovery, want 1", len(dns))
				}
				var body struct {
					Mode      string   `json:"mode"`
					Instances []string `json:"instances"`
				}
				if err := json.Unmarshal([]byte(dns[0].Body), &body); err != nil {
					t.Fatalf("DNS body %q: %v", dns[0].Body, err)
				}
				if body.Mode != "recovery" || len(body.Instances) != len(fourTierWhere) {
					t.Errorf("DNS body %s; want the recovery's %d instances", dns[0].Body, len(fourTierWhere))
				}
				for _, in := range body.Instances {
					if in == "" {
						t.Errorf("DNS body %s names a server without its instance", dns[0].Body)
					}
				}
			}

			// The report: RTO to launched and to healthy, the approval, the hooks.
			r := report.Build(s, evs, e.clock.Now())
			if r.RTO.MeasuredSeconds == nil || r.RTO.HealthySeconds == nil || *r.RTO.HealthySeconds <= *r.RTO.MeasuredSeconds {
				t.Errorf("report RTO %+v; want the time to launched and a later time to healthy", r.RTO)
			} else if *r.RTO.MeasuredSeconds < (20 * time.Minute).Seconds() {
				t.Errorf("report RTO to launched %.0fs; it includes the 20m approval wait", *r.RTO.MeasuredSeconds)
			}
			if r.RTO.LastCriticalStep != "web" || r.RTO.LastHealthyStep != "web" || len(r.RTO.NotLaunched) != 0 || len(r.RTO.NotHealthy) != 0 {
				t.Errorf("report RTO %+v; want web the last step launched and healthy, nothing missing", r.RTO)
			}
			if len(r.Approvals) != 1 || r.Approvals[0].Step != "go-ahead" || r.Approvals[0].Decision != engine.ApprovalApproved ||
				r.Approvals[0].By != "alice (tok_1)" || r.Approvals[0].Comment != "db promoted, cache warm" || !r.Approvals[0].At.Equal(grantedAt) {
				t.Errorf("report approvals %+v; want go-ahead approved by alice with her comment", r.Approvals)
			}
			outcomes := map[string]string{}
			for _, h := range r.Hooks {
				outcomes[h.Step+"/"+h.Hook] += h.Outcome + " "
			}
			wantDNS := "skipped "
			if mode == ripcord.ModeRecovery {
				wantDNS = "succeeded "
			}
			if outcomes["database/promote"] != "succeeded " || outcomes["switch-dns/dns"] != wantDNS {
				t.Errorf("report hooks %v; want promote succeeded once, dns %s", outcomes, wantDNS)
			}
			for _, st := range r.Steps {
				for _, sv := range st.Servers {
					if w := fourTierWhere[sv.ID]; (w[0] == eastAccount) != (sv.Target == "east") || sv.LaunchedAt == nil {
						t.Errorf("report: server %s of step %s in target %s, launched %v", sv.ID, st.Name, sv.Target, sv.LaunchedAt)
					}
				}
			}
			t.Logf("%s: RTO to launched %.0fs, to healthy %.0fs; approved %s after the request", mode,
				*r.RTO.MeasuredSeconds, *r.RTO.HealthySeconds, grantedAt.Sub(asked))
		})
	}
}
