package engine_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/ec2ssm"
	"github.com/ripcord-dr/ripcord/engine"
)

// healthEngine is an engine whose health checks reach the simulator's EC2
// and SSM through the real SDK (package ec2ssm), as the DRS client does.
func (e *env) healthEngine() *engine.Engine {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient: e.srv.Client()}
	in := ec2ssm.New(cfg, e.srv.URL, ec2ssm.ForChecks)
	return e.engineWith(func(c *engine.Config) {
		c.Instances = map[string]ripcord.Instances{"prod": in}
	})
}

// instanceOf is the simulator's view of a server's last recovery instance.
func (e *env) instanceOf(server string) drssim.InstanceView {
	e.t.Helper()
	var out drssim.InstanceView
	for _, in := range e.region().Instances {
		if in.SourceServerID == server && in.Launched.After(out.Launched) {
			out = in
		}
	}
	if out.RecoveryInstanceID == "" {
		e.t.Fatalf("server %s has no recovery instance", server)
	}
	return out
}

// ended returns the HealthCheckPassed/Failed events, by server and check.
func ended(t *testing.T, evs []ripcord.Event, typ string) map[string]ripcord.Event {
	t.Helper()
	out := map[string]ripcord.Event{}
	for _, ev := range evs {
		if ev.Type == typ {
			d := evData[engine.HealthCheckEnded](t, []ripcord.Event{ev}, typ)[0]
			out[d.Server+"/"+d.Check] = ev
		}
	}
	return out
}

// TestHealthGatesThreeTier is the proof of health gates: the three-tier
// drill with an EC2 status gate on the database tier and an HTTP gate on
// the web tier (a local server that answers 503 twice, then 200 with the
// expected body). The database gate passes only once EC2's status checks
// of its instances are ok in the simulator; the app tier starts only after
// it; the web gate passes after the server turns healthy; and the RTO to
// healthy is later than the RTO to launched.
func TestHealthGatesThreeTier(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{} // by instance
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Query().Get("instance")]++
		n := calls[r.URL.Query().Get("instance")]
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status": "ok"}`)
	}))
	defer web.Close()

	e := newEnv(t, nil)
	sp := threeTierSpec(ripcord.ModeDrill)
	sp.Steps[0].Health = []ripcord.HealthCheck{{Name: "ec2Status", Type: ripcord.CheckEC2Status, Interval: 15 * time.Second, Timeout: 20 * time.Minute}}
	sp.Steps[2].Health = []ripcord.HealthCheck{{Name: "http", Type: ripcord.CheckHTTP, URL: web.URL + "/healthz?instance={{.InstanceID}}", Status: 200, Body: `"status": *"ok"`,
		Interval: 10 * time.Second, Timeout: 5 * time.Minute}}
	eng := e.healthEngine()
	e.start(eng, "hg", sp)
	s := e.run(eng, "hg")
	wantState(t, s, ripcord.ExecSucceeded)

	evs := e.events("hg")
	pass := ended(t, evs, engine.EvHealthCheckPassed)
	if f := ended(t, evs, engine.EvHealthCheckFailed); len(f) != 0 {
		t.Fatalf("failed checks: %v", f)
	}
	for _, id := range []string{db1, db2} {
		ev, ok := pass[id+"/ec2Status"]
		if !ok {
			t.Fatalf("no HealthCheckPassed for %s: %v", id, pass)
		}
		in := e.instanceOf(id)
		// Passed no earlier than EC2's checks turned ok, and within an
		// interval (and a poll) of it.
		if ev.At.Before(in.EC2.ChecksPass) || ev.At.After(in.EC2.ChecksPass.Add(30*time.Second)) {
			t.Errorf("%s: gate passed at %s, EC2's checks ok at %s", id, ev.At, in.EC2.ChecksPass)
		}
		if d := evData[engine.HealthCheckEnded](t, []ripcord.Event{ev}, engine.EvHealthCheckPassed)[0]; d.Attempts < 2 || !strings.Contains(d.Result, "system status ok, instance status ok") {
			t.Errorf("%s: %+v, want several attempts (the checks initialize first) and both checks ok", id, d)
		}
		if app := s.Steps["app"]; app.Started.Before(ev.At) {
			t.Errorf("app started at %s, before %s's gate passed at %s", app.Started, id, ev.At)
		}
	}
	for _, id := range []string{web1, web2} {
		ev, ok := pass[id+"/http"]
		if !ok {
			t.Fatalf("no HealthCheckPassed for %s: %v", id, pass)
		}
		// The template named each server's own instance: two 503s,
		// then a 200, an interval apart.
		in := s.Steps["web"].Servers[id].InstanceID
		d := evData[engine.HealthCheckEnded](t, []ripcord.Event{ev}, engine.EvHealthCheckPassed)[0]
		if calls[in] != 3 || d.Attempts != 3 || !strings.Contains(d.Result, "instance="+in+": HTTP 200") {
			t.Errorf("%s: %d requests for instance %s, %+v; want 3 attempts, the last a 200", id, calls[in], in, d)
		}
		if lat := s.Steps["web"].Servers[id].LaunchedAt; !ev.At.Equal(lat.Add(20 * time.Second)) {
			t.Errorf("%s: passed at %s, launched at %s: want two intervals after", id, ev.At, lat)
		}
	}

	rto, healthy := s.RecoveryTime(), s.HealthyTime()
	if !rto.Complete() || !healthy.Complete() {
		t.Fatalf("RTO %+v, healthy %+v: want both complete", rto, healthy)
	}
	if healthy.Measured <= rto.Measured {
		t.Errorf("RTO to healthy %s, to launched %s: the gates take time after the launch", healthy.Measured, rto.Measured)
	}
	if healthy.Step != "web" || (healthy.Last != web1 && healthy.Last != web2) {
		t.Errorf("last healthy: %s in %s, want a web server", healthy.Last, healthy.Step)
	}
}

// TestHealthGateNeverPasses: a gate whose check never passes fails the
// step at its timeout, with the last check result in the step's reason and
// the execution's, whether an HTTP server keeps answering 500 or EC2 keeps
// an instance's status check impaired (the impair-instance fault).
func TestHealthGateNeverPasses(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unreachable", http.StatusInternalServerError)
	}))
	defer bad.Close()
	for _, tc := range []struct {
		name   string
		check  ripcord.HealthCheck
		fault  *drssim.Fault
		result string
	}{
		{"http 500", ripcord.HealthCheck{Name: "http", Type: ripcord.CheckHTTP, URL: bad.URL, Status: 200, Interval: 20 * time.Second, Timeout: 2 * time.Minute},
			nil, "HTTP 500, want 200: database unreachable"},
		{"impaired", ripcord.HealthCheck{Name: "ec2Status", Type: ripcord.CheckEC2Status, Interval: 15 * time.Second, Timeout: 8 * time.Minute},
			&drssim.Fault{Kind: drssim.FaultImpairInstance, Servers: []string{db1}}, "system status ok, instance status impaired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := drssim.LoadScenario("three-tier")
			if err != nil {
				t.Fatal(err)
			}
			if tc.fault != nil {
				sc.Faults = append(sc.Faults, *tc.fault)
			}
			e := newEnv(t, sc)
			st := launchStep("database", nil, db1)
			st.Health = []ripcord.HealthCheck{tc.check}
			eng := e.healthEngine()
			e.start(eng, "never", spec(ripcord.FailureStop, st))
			s := e.run(eng, "never")
			wantState(t, s, ripcord.ExecFailed)

			step := s.Steps["database"]
			for _, want := range []string{"health gate failed", db1, "did not pass within its timeout of " + tc.check.Timeout.String(), tc.result} {
				if !strings.Contains(step.Reason, want) || !strings.Contains(s.Reason, want) {
					t.Errorf("step reason %q / execution reason %q: want %q", step.Reason, s.Reason, want)
				}
			}
			h := step.Health[db1+"/"+tc.check.Name]
			if h == nil || h.Status != "failed" {
				t.Fatalf("check state %+v, want failed", h)
			}
			// At its timeout: not before, and within one interval after.
			if dl := h.Started.Add(tc.check.Timeout); step.Ended.Before(dl) || step.Ended.After(dl.Add(tc.check.Interval)) {
				t.Errorf("step ended at %s, the gate's timeout at %s", step.Ended, dl)
			}
			if sv := step.Servers[db1]; sv.Status != "LAUNCHED" || !h.Started.Equal(sv.LaunchedAt) {
				t.Errorf("server %s %s at %s; the gate started at %s: want it started when the server launched", db1, sv.Status, sv.LaunchedAt, h.Started)
			}
			if healthy := s.HealthyTime(); healthy.Complete() {
				t.Errorf("healthy %+v: nothing is healthy", healthy)
			}
		})
	}
}

// TestCheckStepSSM: a check step after a launch step runs an SSM command
// on its recovery instances; the scenario's outcome passes it, a fail-ssm
// fault (exit code 3) fails it with the command's exit code and error
// output in the reason.
func TestCheckStepSSM(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault bool
		want  ripcord.ExecState
		text  string
	}{
		{"pass", false, ripcord.ExecSucceeded, "Success with exit code 0: healthy"},
		{"fail", true, ripcord.ExecFailed, "Failed with exit code 3: replica lag too high"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := drssim.LoadScenario("three-tier")
			if err != nil {
				t.Fatal(err)
			}
			sc.SSM = &drssim.SSMSpec{Commands: map[string]drssim.SSMOutcome{"health-check": {Output: "healthy\n"}}}
			if tc.fault {
				sc.Faults = append(sc.Faults, drssim.Fault{Kind: drssim.FaultFailSSM, Document: "health-check", ExitCode: 3, Message: "replica lag too high\n", Always: true})
			}
			e := newEnv(t, sc)
			check := engine.SpecStep{Name: "smoke", Kind: ripcord.StepCheck, After: []string{"app"},
				Checks: []ripcord.HealthCheck{{Name: "ssm", Type: ripcord.CheckSSM, Document: "health-check", Interval: 15 * time.Second, Timeout: 6 * time.Minute, Retries: 2}}}
			eng := e.healthEngine()
			e.start(eng, "ssm", spec(ripcord.FailureStop, launchStep("app", nil, app1, app2), check))
			s := e.run(eng, "ssm")
			wantState(t, s, tc.want)

			smoke := s.Steps["smoke"]
			if len(smoke.Health) != 2 {
				t.Fatalf("checks %v, want one per app instance", smoke.Health)
			}
			for _, id := range []string{app1, app2} {
				h := smoke.Health[id+"/ssm"]
				if h == nil || h.Instance != s.Steps["app"].Servers[id].InstanceID {
					t.Fatalf("check of %s: %+v, want it on the server's recovery instance", id, h)
				}
				if !strings.Contains(h.Result, tc.text) {
					t.Errorf("check of %s: %q, want %q", id, h.Result, tc.text)
				}
				if tc.fault && (h.Status != "failed" || h.Attempts != 3) {
					t.Errorf("check of %s: %s after %d attempts, want failed after 3 (retries: 2)", id, h.Status, h.Attempts)
				}
			}
			if tc.fault && !strings.Contains(smoke.Reason, "exit code 3") {
				t.Errorf("step reason %q, want the exit code", smoke.Reason)
			}
			// The commands really ran in the simulator's SSM.
			cmds := 0
			for _, c := range e.region().Commands {
				if c.Document == "health-check" {
					cmds++
				}
			}
			if min := 2; cmds < min {
				t.Errorf("%d health-check commands in the simulator, want at least %d", cmds, min)
			}
		})
	}
}
