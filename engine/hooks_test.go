package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/ec2ssm"
	"github.com/ripcord-dr/ripcord/engine"
)

// receiver is a local HTTP endpoint that records what hooks send it, and
// answers with the statuses in fail first (then 200).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	fail []int
}

type received struct {
	Path, Body, Auth string
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	rc := &receiver{fail: fail}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Path: r.URL.Path, Body: string(b), Auth: r.Header.Get("Authorization")})
		code := http.StatusOK
		if len(rc.fail) > 0 {
			code, rc.fail = rc.fail[0], rc.fail[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, "ok %s", r.URL.Path)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// calls returns what was sent to path.
func (rc *receiver) calls(path string) []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, g := range rc.got {
		if g.Path == path {
			out = append(out, g)
		}
	}
	return out
}

// dnsBody is the DNS switch's body template: the execution's context.
const dnsBody = `{"execution":"{{.ExecutionID}}","plan":"{{.Plan}}","mode":"{{.Mode}}","step":"{{.Step}}","instances":[{{range $i, $s := .Servers}}{{if $i}},{{end}}"{{$s.InstanceID}}"{{end}}]}`

// hookPlan is database (before: a local command; after: the HTTP hook
// "promote"), then app, then web, then the hook step dns (an HTTP DNS switch that
// runs only in a recovery, with a secret header).
func hookPlan(mode ripcord.Mode, rc *receiver, marker string) engine.Spec {
	sp := spec(ripcord.FailureStop,
		launchStep("database", nil, db1, db2),
		launchStep("app", []string{"database"}, app1, app2),
		launchStep("web", []string{"app"}, web1, web2),
		engine.SpecStep{Name: "dns", Kind: ripcord.StepHook, After: []string{"web"}, Hook: &ripcord.Hook{
			Name: "switch-dns", Modes: []ripcord.Mode{ripcord.ModeRecovery},
			HTTP: &ripcord.HTTPHook{Method: "POST", URL: rc.URL + "/dns", Body: dnsBody,
				Headers: map[string]ripcord.HeaderValue{"Authorization": {Secret: "DNS_TOKEN"}}}}},
	)
	sp.Mode = mode
	sp.Steps[0].Hooks = &ripcord.StepHooks{
		Before: []ripcord.Hook{{Name: "stop-writes", Command: &ripcord.CommandHook{
			Argv: []string{"sh", "-c", `printf '%s %s' "$RIPCORD_EXECUTION_ID" "$GREETING" > "$MARKER"`},
			Env:  map[string]string{"MARKER": marker, "GREETING": "hello"}}}},
		After: []ripcord.Hook{{Name: "promote", HTTP: &ripcord.HTTPHook{URL: rc.URL + "/promote", Body: `{"step":"{{.Step}}"}`}}},
	}
	return sp
}

const secretValue = "Bearer s3cret-token-value"

func hookEngine(e *env, mod func(*engine.Config)) *engine.Engine {
	return e.engineWith(func(c *engine.Config) {
		c.Secrets = func(name string) (string, error) {
			if name == "DNS_TOKEN" {
				return secretValue, nil
			}
			return "", errors.New("no secret " + name)
		}
		if mod != nil {
			mod(c)
		}
	})
}

// seqOf is the seq of the first event of typ matching ok.
func seqOf(t *testing.T, evs []ripcord.Event, typ string, ok func(ripcord.Event) bool) int64 {
	t.Helper()
	for _, ev := range evs {
		if ev.Type == typ && ok(ev) {
			return ev.Seq
		}
	}
	t.Fatalf("no %s event", typ)
	return 0
}

func about(step string) func(ripcord.Event) bool {
	return func(ev ripcord.Event) bool { return strings.Contains(string(ev.Data), `"step":"`+step+`"`) }
}

// TestHooksDrillAndRecovery: in a drill the recovery-only DNS hook is
// recorded as skipped and never called; in a recovery it is called once
// with the templated body and the secret header. Before and after hooks run
// around the database step's launches, and no secret reaches the log.
func TestHooksDrillAndRecovery(t *testing.T) {
	for _, mode := range []ripcord.Mode{ripcord.ModeDrill, ripcord.ModeRecovery} {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, nil)
			rc := newReceiver(t)
			marker := filepath.Join(t.TempDir(), "marker")
			eng := hookEngine(e, nil)
			e.start(eng, "exec-h", hookPlan(mode, rc, marker))
			s := e.run(eng, "exec-h")
			wantState(t, s, ripcord.ExecSucceeded)
			evs := e.events("exec-h")

			// The before hook ran, with the execution's context, before
			// the database's first launch.
			if b, err := os.ReadFile(marker); err != nil || string(b) != "exec-h hello" {
				t.Fatalf("the command hook wrote %q (%v), want %q", b, err, "exec-h hello")
			}
			before := seqOf(t, evs, engine.EvHookSucceeded, func(ev ripcord.Event) bool { return strings.Contains(string(ev.Data), `"hook":"stop-writes"`) })
			if launch := seqOf(t, evs, engine.EvLaunchRequested, func(ripcord.Event) bool { return true }); before > launch {
				t.Errorf("the before hook succeeded at seq %d, after the first launch request at %d", before, launch)
			}
			// promote ran once, after the database launched, before app started.
			if n := len(rc.calls("/promote")); n != 1 {
				t.Fatalf("promote called %d times, want 1", n)
			}
			promoted := seqOf(t, evs, engine.EvHookSucceeded, func(ev ripcord.Event) bool { return strings.Contains(string(ev.Data), `"hook":"promote"`) })
			dbDone := seqOf(t, evs, engine.EvStepFinished, about("database"))
			appStart := seqOf(t, evs, engine.EvStepStarted, about("app"))
			if !(promoted < dbDone && dbDone < appStart) {
				t.Errorf("promote at %d, database finished at %d, app started at %d: want promote, then database's end, then app", promoted, dbDone, appStart)
			}

			dns := rc.calls("/dns")
			skips := evData[engine.HookSkippedData](t, evs, engine.EvHookSkipped)
			if mode == ripcord.ModeDrill {
				if len(dns) != 0 {
					t.Fatalf("the DNS hook was called %d times in a drill", len(dns))
				}
				if len(skips) != 1 || skips[0].Hook != "switch-dns" || skips[0].Reason != "runs only in a recovery, not in a drill" {
					t.Fatalf("skips %+v, want switch-dns skipped as recovery-only", skips)
				}
				if st := s.Steps["dns"]; st.Status != "succeeded" {
					t.Errorf("dns step %s (%s), want succeeded with its hook skipped", st.Status, st.Reason)
				}
				return
			}
			if len(skips) != 0 {
				t.Fatalf("skips in a recovery: %+v", skips)
			}
			if len(dns) != 1 {
				t.Fatalf("the DNS hook was called %d times in a recovery, want 1", len(dns))
			}
			var ids []string
			for _, id := range []string{db1, db2, app1, app2, web1, web2} {
				inst := ""
				for _, st := range s.Steps {
					if sv := st.Servers[id]; sv != nil {
						inst = sv.InstanceID
					}
				}
				if inst == "" {
					t.Fatalf("server %s has no instance", id)
				}
				ids = append(ids, `"`+inst+`"`)
			}
			want := `{"execution":"exec-h","plan":"orders","mode":"recovery","step":"dns","instances":[` + strings.Join(ids, ",") + `]}`
			if dns[0].Body != want {
				t.Errorf("DNS body\n%s\nwant\n%s", dns[0].Body, want)
			}
			if dns[0].Auth != secretValue {
				t.Errorf("Authorization %q, want the secret", dns[0].Auth)
			}
			for _, ev := range evs {
				if strings.Contains(string(ev.Data), "s3cret") {
					t.Errorf("event %d %s holds the secret: %s", ev.Seq, ev.Type, ev.Data)
				}
			}
		})
	}
}

// TestHookRetriesWithBackoff: an HTTP hook answered 503 twice succeeds on
// its third attempt, each attempt recorded, the retries spaced by the
// doubling backoff on the engine's clock; with fewer retries the step fails
// with the last answer, and the failure policy ends the execution.
func TestHookRetriesWithBackoff(t *testing.T) {
	for _, retries := range []int{2, 1} {
		t.Run(fmt.Sprint("retries=", retries), func(t *testing.T) {
			e := newEnv(t, nil)
			rc := newReceiver(t, 503, 503)
			eng := hookEngine(e, nil)
			sp := spec(ripcord.FailureStop, engine.SpecStep{Name: "notify", Kind: ripcord.StepHook, Hook: &ripcord.Hook{
				Name: "ticket", Retries: retries, Backoff: 10 * 1e9, HTTP: &ripcord.HTTPHook{URL: rc.URL + "/ticket"}}})
			e.start(eng, "exec-r", sp)
			s := e.run(eng, "exec-r")
			evs := e.events("exec-r")
			starts := evData[engine.HookStarted](t, evs, engine.EvHookStarted)
			fails := evData[engine.HookResult](t, evs, engine.EvHookFailed)
			if len(starts) != retries+1 || len(rc.calls("/ticket")) != retries+1 {
				t.Fatalf("%d attempts recorded, %d calls; want %d", len(starts), len(rc.calls("/ticket")), retries+1)
			}
			var at []ripcord.Event
			for _, ev := range evs {
				if ev.Type == engine.EvHookStarted {
					at = append(at, ev)
				}
			}
			if d := at[1].At.Sub(at[0].At); d < 10e9 {
				t.Errorf("second attempt %s after the first, want at least the 10s backoff", d)
			}
			if retries == 2 {
				if d := at[2].At.Sub(at[1].At); d < 20e9 {
					t.Errorf("third attempt %s after the second, want at least the doubled backoff, 20s", d)
				}
				wantState(t, s, ripcord.ExecSucceeded)
				if len(fails) != 2 || fails[0].Status != "503" || fails[0].Final || fails[1].Final {
					t.Fatalf("failures %+v, want two non-final 503s", fails)
				}
				return
			}
			wantState(t, s, ripcord.ExecFailed)
			if len(fails) != 2 || !fails[1].Final || fails[1].Status != "503" {
				t.Fatalf("failures %+v, want the second final with 503", fails)
			}
			if r := s.Steps["notify"].Reason; !strings.Contains(r, "hook ticket failed 2 times") || !strings.Contains(r, "503") {
				t.Errorf("step reason %q, want the hook, its attempts and the last answer", r)
			}
		})
	}
}

// ssmEnv is an env whose simulator has the automations promote-rds (which
// succeeds with an output) and promote-broken (which fails), and whose spec
// names the prod target for SSM.
func ssmEnv(t *testing.T) *env {
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.SSM = &drssim.SSMSpec{Automations: map[string]drssim.SSMOutcome{
		"promote-rds":    {Outputs: map[string][]string{"endpoint": {"orders-db.example.internal"}}},
		"promote-broken": {Status: "Failed", Error: "Step promote failed: replica lag too high"},
	}, Commands: map[string]drssim.SSMOutcome{"warm-cache": {Output: "warmed\n"}}}
	e := newEnv(t, sc)
	e.withSTS()
	return e
}

func ssmEngine(e *env) *engine.Engine {
	return hookEngine(e, func(c *engine.Config) {
		c.SSM = func(ctx context.Context, tg ripcord.Target) (ripcord.SSM, error) {
			if tg.Name != "prod" || tg.Account != "111122223333" {
				return nil, fmt.Errorf("unexpected target %+v", tg)
			}
			return ec2ssm.New(aws.Config{Region: tg.Region, Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, e.srv.URL, ec2ssm.ForHooks), nil
		}
	})
}

// TestHookSSMAutomation: an SSM Automation hook against the simulator
// succeeds with the document's outputs, or fails the step with the
// document's failure message (the failure policy then ends the execution);
// a Run Command after hook runs on the step's recovery instances.
func TestHookSSMAutomation(t *testing.T) {
	for _, doc := range []string{"promote-rds", "promote-broken"} {
		t.Run(doc, func(t *testing.T) {
			e := ssmEnv(t)
			eng := ssmEngine(e)
			sp := spec(ripcord.FailureStop,
				launchStep("database", nil, db1, db2),
				engine.SpecStep{Name: "promote", Kind: ripcord.StepHook, After: []string{"database"}, Hook: &ripcord.Hook{
					Name: "promote", HTTP: nil, SSM: &ripcord.SSMHook{Target: "prod", Automation: doc, Parameters: map[string][]string{"Instance": {"orders-db"}}}}},
				launchStep("app", []string{"promote"}, app1, app2))
			sp.Targets = []ripcord.Target{{Name: "prod", Account: "111122223333", Region: "us-east-1", Endpoint: e.srv.URL}}
			sp.Steps[0].Hooks = &ripcord.StepHooks{After: []ripcord.Hook{{Name: "warm", Retries: 4, Backoff: 30e9,
				SSM: &ripcord.SSMHook{Target: "prod", Command: "warm-cache"}}}}
			e.start(eng, "exec-s", sp)
			s := e.run(eng, "exec-s")
			evs := e.events("exec-s")
			rv := e.region()
			if len(rv.Automations) != 1 || rv.Automations[0].Document != doc {
				t.Fatalf("simulator automations %+v, want one of %s", rv.Automations, doc)
			}
			// The Run Command hook ran on the database's two instances.
			if len(rv.Commands) != 1 || len(rv.Commands[0].Invocations) != 2 {
				t.Fatalf("simulator commands %+v, want warm-cache on the two database instances", rv.Commands)
			}
			// Right after the launch the instances' SSM agents had not
			// registered: SSM refused the command, and a retry sent it.
			if fails := evData[engine.HookResult](t, evs, engine.EvHookFailed); len(fails) == 0 || fails[0].Hook != "warm" ||
				!strings.Contains(fails[0].Reason, "InvalidInstanceId") {
				t.Errorf("warm's first failures %+v, want SSM's InvalidInstanceId before the agents registered", fails)
			}
			oks := evData[engine.HookResult](t, evs, engine.EvHookSucceeded)
			if doc == "promote-rds" {
				wantState(t, s, ripcord.ExecSucceeded)
				if len(oks) != 2 || oks[1].Hook != "promote" || oks[1].Status != "Success" || !strings.Contains(oks[1].Output, "endpoint=orders-db.example.internal") {
					t.Fatalf("hook results %+v, want warm then promote succeeded with the document's output", oks)
				}
				return
			}
			wantState(t, s, ripcord.ExecFailed)
			fails := evData[engine.HookResult](t, evs, engine.EvHookFailed)
			fails = fails[len(fails)-1:]
			if fails[0].Hook != "promote" || fails[0].Status != "Failed" || !fails[0].Final {
				t.Fatalf("failures %+v, want one final Failed", fails)
			}
			if r := s.Steps["promote"].Reason; !strings.Contains(r, "replica lag too high") {
				t.Errorf("step reason %q, want the document's failure message", r)
			}
			// Under stop no step starts after a failure (as after a
			// failed launch, policy_test.go): app stays waiting.
			if st := s.Steps["app"].Status; st != "waiting" || len(e.jobsOf(app1)) != 0 {
				t.Errorf("app is %s with %d jobs after the failed promotion, want waiting and never launched", st, len(e.jobsOf(app1)))
			}
		})
	}
}

// TestHookUnclearOutcome: a crash after an HTTP hook was called and before
// its result was recorded. A hook that is not idempotent is not called
// again on resume: the execution pauses with the step failed, a reason and
// a remedy, until a person retries it. An idempotent one runs again.
func TestHookUnclearOutcome(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprint("idempotent=", idempotent), func(t *testing.T) {
			e := newEnv(t, nil)
			rc := newReceiver(t)
			sp := spec(ripcord.FailureStop,
				launchStep("database", nil, db1, db2),
				engine.SpecStep{Name: "dns", Kind: ripcord.StepHook, After: []string{"database"}, Hook: &ripcord.Hook{
					Name: "switch-dns", Idempotent: idempotent, HTTP: &ripcord.HTTPHook{URL: rc.URL + "/dns?token=abc"}}})
			crashed := false
			first := hookEngine(e, func(c *engine.Config) {
				c.Hooks.AfterHookCall = func(step, hook string) error {
					if !crashed {
						crashed = true
						return engine.ErrCrash
					}
					return nil
				}
			})
			e.start(first, "exec-u", sp)
			if _, err := first.Run(context.Background(), "exec-u"); !errors.Is(err, engine.ErrCrash) {
				t.Fatalf("first run: %v, want the crash", err)
			}
			if n := len(rc.calls("/dns")); n != 1 {
				t.Fatalf("%d calls before the crash, want 1", n)
			}

			eng := hookEngine(e, nil)
			s := e.run(eng, "exec-u")
			evs := e.events("exec-u")
			fails := evData[engine.HookResult](t, evs, engine.EvHookFailed)
			if len(fails) != 1 || !fails[0].Unclear || fails[0].Final == idempotent {
				t.Fatalf("failures %+v, want one unclear (final unless idempotent)", fails)
			}
			if idempotent {
				wantState(t, s, ripcord.ExecSucceeded)
				if n := len(rc.calls("/dns")); n != 2 {
					t.Fatalf("%d calls, want 2: an idempotent hook runs again", n)
				}
				return
			}
			wantState(t, s, ripcord.ExecPaused)
			if n := len(rc.calls("/dns")); n != 1 {
				t.Fatalf("%d calls after the resume, want still 1: the hook is not idempotent", n)
			}
			if !strings.Contains(s.PauseReason, "not idempotent") || !strings.Contains(s.PauseRemedy, "ripcord exec retry exec-u dns") ||
				!strings.Contains(s.PauseRemedy, "ripcord exec skip exec-u dns") || strings.Contains(s.PauseRemedy, "token=abc") {
				t.Fatalf("paused: %q; remedy %q", s.PauseReason, s.PauseRemedy)
			}
			// Another resume does not call it either, nor end the execution.
			s = e.run(hookEngine(e, nil), "exec-u")
			wantState(t, s, ripcord.ExecPaused)
			if n := len(rc.calls("/dns")); n != 1 {
				t.Fatalf("%d calls after a second resume, want 1", n)
			}
			// The person checked: it did not take effect. A retry calls it.
			if err := eng.Retry(context.Background(), "exec-u", "alice", "dns"); err != nil {
				t.Fatal(err)
			}
			s = e.run(eng, "exec-u")
			wantState(t, s, ripcord.ExecSucceeded)
			if n := len(rc.calls("/dns")); n != 2 {
				t.Fatalf("%d calls after the retry, want 2", n)
			}
		})
	}
}

// TestBeforeHookFailureLaunchesNothing: a before hook that fails (a local
// command exiting 3) fails its step before anything is launched, with the
// command's status and output in the result and the step's reason.
func TestBeforeHookFailureLaunchesNothing(t *testing.T) {
	e := newEnv(t, nil)
	eng := hookEngine(e, nil)
	sp := spec(ripcord.FailureStop, launchStep("database", nil, db1, db2))
	sp.Steps[0].Hooks = &ripcord.StepHooks{Before: []ripcord.Hook{{Name: "check-lag", Command: &ripcord.CommandHook{
		Argv: []string{"sh", "-c", "echo lag too high; exit 3"}}}}}
	e.start(eng, "exec-b", sp)
	s := e.run(eng, "exec-b")
	wantState(t, s, ripcord.ExecFailed)
	evs := e.events("exec-b")
	fails := evData[engine.HookResult](t, evs, engine.EvHookFailed)
	if len(fails) != 1 || fails[0].Status != "exit 3" || fails[0].Output != "lag too high\n" || !fails[0].Final {
		t.Fatalf("failures %+v, want exit 3 with the output", fails)
	}
	if n := len(evData[engine.LaunchRequested](t, evs, engine.EvLaunchRequested)); n != 0 || len(e.jobsOf(db1)) != 0 {
		t.Fatalf("%d launch requests, %d jobs after a failed before hook, want none", n, len(e.jobsOf(db1)))
	}
	if r := s.Steps["database"].Reason; r != "before hook check-lag failed: sh exited with status 3" {
		t.Errorf("step reason %q", r)
	}
}

// TestEnvSecrets: a secret is RIPCORD_SECRET_NAME, else the file NAME in
// RIPCORD_SECRETS_DIR without its trailing newline; a missing one is an
// invalid-input error that says where to put it and shows no value.
func TestEnvSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "FROM_FILE"), []byte("file-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RIPCORD_SECRETS_DIR", dir)
	t.Setenv("RIPCORD_SECRET_FROM_ENV", "env-value")
	for name, want := range map[string]string{"FROM_ENV": "env-value", "FROM_FILE": "file-value"} {
		if got, err := engine.EnvSecrets(name); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	_, err := engine.EnvSecrets("MISSING")
	if ripcord.ErrorCode(err) != ripcord.EINVALID || !strings.Contains(ripcord.ErrorHint(err), "RIPCORD_SECRET_MISSING") ||
		!strings.Contains(ripcord.ErrorHint(err), "RIPCORD_SECRETS_DIR") {
		t.Errorf("missing secret: %v (hint %q)", err, ripcord.ErrorHint(err))
	}
}

// TestSlowHookHoldsOnlyItsStep: a hook step and a launch step that do not
// depend on each other start together. The hook's endpoint answers only
// once the launch step's DRS job exists: the launch does not wait for the
// hook (the call runs beside the driver), the hook's result is recorded
// when it returns, and the execution succeeds. Were the call made in the
// driver's pass, the launch would wait for the hook and the endpoint for
// the launch: the endpoint gives up after a minute of real time and the
// test fails.
func TestSlowHookHoldsOnlyItsStep(t *testing.T) {
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Regions[0].Jobs = nil // no earlier TERMINATE job holds the servers: they launch at once
	e := newEnv(t, sc)
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			fmt.Fprint(w, "ticket opened")
		case <-time.After(time.Minute): // a bound on a hang, not a pause
			t.Error("the launch step's job was never created while the hook ran: the hook held up the driver")
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	}))
	t.Cleanup(srv.Close)
	defer once.Do(func() { close(release) })
	eng := hookEngine(e, func(c *engine.Config) {
		c.OnEvent = func(_ *engine.State, ev ripcord.Event) {
			if ev.Type == engine.EvJobCreated {
				once.Do(func() { close(release) })
			}
		}
	})
	sp := spec(ripcord.FailureStop,
		engine.SpecStep{Name: "ticket", Kind: ripcord.StepHook, Hook: &ripcord.Hook{
			Name: "open-ticket", Timeout: 5 * time.Minute, HTTP: &ripcord.HTTPHook{URL: srv.URL + "/ticket"}}},
		launchStep("database", nil, db1, db2))
	e.start(eng, "exec-slow", sp)
	s := e.run(eng, "exec-slow")
	wantState(t, s, ripcord.ExecSucceeded)
	evs := e.events("exec-slow")
	started := seqOf(t, evs, engine.EvHookStarted, about("ticket"))
	job := seqOf(t, evs, engine.EvJobCreated, func(ripcord.Event) bool { return true })
	done := seqOf(t, evs, engine.EvHookSucceeded, about("ticket"))
	if !(started < job && job < done) {
		t.Errorf("hook started at seq %d, the launch's job at %d, the hook's result at %d: want the job created while the hook ran", started, job, done)
	}
	if st := s.Steps["ticket"]; st.Status != "succeeded" {
		t.Errorf("the hook step is %s (%s)", st.Status, st.Reason)
	}
	// In virtual time the call took none.
	if hs := s.Steps["ticket"].Hooks["hook/0"]; hs == nil || !hs.Ended.Equal(hs.Started) {
		t.Errorf("the hook %+v: want it to end at the virtual time it started", hs)
	}
}

// TestSoftStopRecordsHookInFlight: the driver is stopped (a soft stop,
// as on SIGTERM) while a hook's call is in flight. It lets the call
// finish and records its result before it stops, so the next driver goes
// on without calling the hook again (nor pausing on an unclear outcome).
func TestSoftStopRecordsHookInFlight(t *testing.T) {
	e := newEnv(t, nil)
	called, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(called)
		}
		<-release
		fmt.Fprint(w, "promoted")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	sp := spec(ripcord.FailureStop,
		engine.SpecStep{Name: "promote", Kind: ripcord.StepHook, Hook: &ripcord.Hook{
			Name: "promote-db", HTTP: &ripcord.HTTPHook{URL: srv.URL + "/promote"}}},
		launchStep("app", []string{"promote"}, app1, app2))
	eng := hookEngine(e, nil)
	e.start(eng, "exec-stop", sp)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-called
		cancel() // the stop arrives while the call is in flight
		close(release)
	}()
	if _, err := eng.Run(ctx, "exec-stop"); !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("the stopped run: %v; want ErrStopped", err)
	}
	evs := e.events("exec-stop")
	ok := seqOf(t, evs, engine.EvHookSucceeded, about("promote"))
	stopped := seqOf(t, evs, engine.EvDriverStopped, func(ripcord.Event) bool { return true })
	if ok > stopped {
		t.Errorf("the hook's result (seq %d) was recorded after the driver stopped (seq %d)", ok, stopped)
	}
	s := e.run(hookEngine(e, nil), "exec-stop")
	wantState(t, s, ripcord.ExecSucceeded)
	if n := calls.Load(); n != 1 {
		t.Errorf("the hook was called %d times; want once", n)
	}
}

// TestCancelBeforeAfterHooks: a drill is cancelled while its first step's
// launch is in flight. The launch ends; the step's after hook is not
// started (a cancel starts no hook) and the step is skipped with why, so
// the execution ends cancelled instead of waiting for the hook for ever.
func TestCancelBeforeAfterHooks(t *testing.T) {
	e := newEnv(t, nil)
	rc := newReceiver(t)
	ctx := context.Background()
	var once sync.Once
	eng := hookEngine(e, func(c *engine.Config) {
		c.Hooks.AfterCall = func(string) error {
			once.Do(func() {
				if err := engine.New(engine.Config{Store: e.store}).Cancel(ctx, "exec-cancel", "dave"); err != nil {
					t.Error(err)
				}
			})
			return nil
		}
	})
	db := launchStep("database", nil, db1, db2)
	db.Hooks = &ripcord.StepHooks{After: []ripcord.Hook{{Name: "notify", HTTP: &ripcord.HTTPHook{URL: rc.URL + "/notify"}}}}
	e.start(eng, "exec-cancel", spec(ripcord.FailureStop, db, launchStep("app", []string{"database"}, app1, app2)))
	s := e.run(eng, "exec-cancel")
	wantState(t, s, ripcord.ExecCancelled)
	if st := s.Steps["database"]; st.Status != "skipped" || !strings.Contains(st.Reason, "before its after hooks ran") {
		t.Errorf("database is %s (%s); want skipped before its after hooks", st.Status, st.Reason)
	}
	if n := len(rc.calls("/notify")); n != 0 {
		t.Errorf("the after hook was called %d times after the cancel; want 0", n)
	}
}

// TestSoftStopWhileRecordingHookResult: the stop arrives after a hook's
// call returned and before its result was recorded: the driver records it
// as it stops, and the next driver goes on without calling it again or
// pausing on an unknown outcome.
func TestSoftStopWhileRecordingHookResult(t *testing.T) {
	e := newEnv(t, nil)
	rc := newReceiver(t)
	sp := spec(ripcord.FailureStop,
		engine.SpecStep{Name: "promote", Kind: ripcord.StepHook, Hook: &ripcord.Hook{Name: "promote-db", HTTP: &ripcord.HTTPHook{URL: rc.URL + "/promote"}}},
		launchStep("app", []string{"promote"}, app1, app2))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng := hookEngine(e, func(c *engine.Config) {
		c.Hooks.AfterHookCall = func(string, string) error { cancel(); return nil } // SIGTERM as the call returns
	})
	e.start(eng, "exec-stop2", sp)
	if _, err := eng.Run(ctx, "exec-stop2"); !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("the stopped run: %v; want ErrStopped", err)
	}
	if oks := evData[engine.HookResult](t, e.events("exec-stop2"), engine.EvHookSucceeded); len(oks) != 1 {
		t.Errorf("%d results recorded by the stopped driver; want 1", len(oks))
	}
	s := e.run(hookEngine(e, nil), "exec-stop2")
	wantState(t, s, ripcord.ExecSucceeded)
	if n := len(rc.calls("/promote")); n != 1 {
		t.Errorf("the hook was called %d times; want once", n)
	}
}

// TestStopAndPauseWhileHookInFlight: while a hook's call is in flight a
// person pauses the execution (another process's command, appended to
// the log) and the driver is stopped. The driver reads the pause, records
// the hook's result as it stops, and after the resume the plan goes on
// without calling the hook again.
func TestStopAndPauseWhileHookInFlight(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if err := engine.New(engine.Config{Store: e.store}).Pause(context.Background(), "exec-pause", "carol"); err != nil {
			t.Error(err)
		}
		cancel() // and SIGTERM, before the answer
		fmt.Fprint(w, "promoted")
	}))
	t.Cleanup(srv.Close)
	sp := spec(ripcord.FailureStop,
		engine.SpecStep{Name: "promote", Kind: ripcord.StepHook, Hook: &ripcord.Hook{Name: "promote-db", HTTP: &ripcord.HTTPHook{URL: srv.URL + "/promote"}}},
		launchStep("app", []string{"promote"}, app1, app2))
	eng := hookEngine(e, nil)
	e.start(eng, "exec-pause", sp)
	if _, err := eng.Run(ctx, "exec-pause"); !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("the stopped run: %v; want ErrStopped", err)
	}
	evs := e.events("exec-pause")
	if oks := evData[engine.HookResult](t, evs, engine.EvHookSucceeded); len(oks) != 1 {
		t.Fatalf("%d results recorded by the stopped driver; want 1", len(oks))
	}
	if seqOf(t, evs, engine.EvExecutionPaused, func(ripcord.Event) bool { return true }) > seqOf(t, evs, engine.EvHookSucceeded, about("promote")) {
		t.Errorf("the hook's result was recorded before the pause it raced with; want the pause read first")
	}
	if err := eng.Resume(context.Background(), "exec-pause", "carol"); err != nil {
		t.Fatal(err)
	}
	s := e.run(hookEngine(e, nil), "exec-pause")
	wantState(t, s, ripcord.ExecSucceeded)
	if n := calls.Load(); n != 1 {
		t.Errorf("the hook was called %d times; want once", n)
	}
}
