package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Health checks (docs/plans.md, "Health checks"): a launch step's health
// gate runs its checks on each server once it is LAUNCHED, and the step
// succeeds only when its critical servers pass them; a check step runs its
// checks when it starts, on the recovery instances of the launch steps it
// is after (or once, for a fixed host). Each check of each server is three
// events, guarded like every other:
//
//	server LAUNCHED (gate) or step started ─▶ HealthCheckStarted{deadline}
//	    ─┬─ HealthCheckPassed{attempts, last result}
//	     └─ HealthCheckFailed{attempts, last result}   (retries spent, or the deadline passed)
//
// Attempts are made on the engine's clock every Interval; the attempts due
// in a pass run in parallel, each bounded by attemptTimeout, so a check
// that waits never holds other steps. Attempts themselves are not recorded
// (only the last result, when the check ends); a driver that takes over
// starts attempting again at once, within the recorded deadline.
const (
	EvHealthCheckStarted = "HealthCheckStarted"
	EvHealthCheckPassed  = "HealthCheckPassed"
	EvHealthCheckFailed  = "HealthCheckFailed"
)

// Check states.
const (
	checkRunning = "running"
	checkPassed  = "passed"
	checkFailed  = "failed"
)

type (
	// HealthCheckStarted is the data of EvHealthCheckStarted. Server is
	// empty for a check of a fixed host.
	HealthCheckStarted struct {
		Step     string    `json:"step"`
		Check    string    `json:"check"`
		Server   string    `json:"server,omitempty"`
		Instance string    `json:"instance,omitempty"`
		Deadline time.Time `json:"deadline"`
	}
	// HealthCheckEnded is the data of EvHealthCheckPassed and
	// EvHealthCheckFailed: how many attempts were made and what the last
	// one found (for a failure, also why the check gave up).
	HealthCheckEnded struct {
		Step     string `json:"step"`
		Check    string `json:"check"`
		Server   string `json:"server,omitempty"`
		Attempts int    `json:"attempts"`
		Result   string `json:"result"`
	}
)

// CheckState is one check of one server (or of a fixed host) in a step.
type CheckState struct {
	Check    string
	Server   string
	Instance string
	Status   string // running, passed, failed
	Started  time.Time
	Deadline time.Time
	Ended    time.Time
	Attempts int
	Result   string
}

func checkKey(server, check string) string { return server + "/" + check }

// checks returns the step's checks: a launch step's gate or a check step's.
func (st SpecStep) checks() []ripcord.HealthCheck {
	if st.Kind == ripcord.StepCheck {
		return st.Checks
	}
	return st.Health
}

func (st SpecStep) check(name string) (ripcord.HealthCheck, bool) {
	for _, c := range st.checks() {
		if c.Name == name {
			return c, true
		}
	}
	return ripcord.HealthCheck{}, false
}

// retryChecks forgets the step's failed checks, so that a retry runs them
// again; passed checks stay passed.
func (st *StepState) retryChecks() {
	for k, h := range st.Health {
		if h.Status == checkFailed {
			delete(st.Health, k)
		}
	}
}

// applyHealth folds the health check events (state.go's apply calls it).
func (s *State) applyHealth(ev ripcord.Event, invalid func(string, ...any) error) error {
	dec := func(v any) error {
		if err := json.Unmarshal(ev.Data, v); err != nil {
			return fmt.Errorf("execution %s: event %d (%s): %w", s.ID, ev.Seq, ev.Type, err)
		}
		return nil
	}
	if ev.Type == EvHealthCheckStarted {
		var d HealthCheckStarted
		if err := dec(&d); err != nil {
			return err
		}
		st := s.Steps[d.Step]
		switch {
		case st == nil || (st.Spec.Kind != ripcord.StepLaunch && st.Spec.Kind != ripcord.StepCheck):
			return invalid("no launch or check step %q", d.Step)
		case st.Status != stepRunning:
			return invalid("step %s is %s, not running", d.Step, st.Status)
		case s.Final():
			return invalid("the execution has ended (%s)", s.State)
		}
		if _, ok := st.Spec.check(d.Check); !ok {
			return invalid("step %s has no check %q", d.Step, d.Check)
		}
		if st.Spec.Kind == ripcord.StepLaunch {
			if sv := st.Servers[d.Server]; sv == nil || sv.Status != srvLaunched {
				return invalid("server %s of step %s is not launched", d.Server, d.Step)
			}
		}
		k := checkKey(d.Server, d.Check)
		if st.Health[k] != nil {
			return invalid("check %s of %s started already", d.Check, k)
		}
		if st.Health == nil {
			st.Health = map[string]*CheckState{}
		}
		st.Health[k] = &CheckState{Check: d.Check, Server: d.Server, Instance: d.Instance, Status: checkRunning, Started: ev.At, Deadline: d.Deadline}
		return nil
	}
	var d HealthCheckEnded
	if err := dec(&d); err != nil {
		return err
	}
	st := s.Steps[d.Step]
	if st == nil || st.Status != stepRunning {
		return invalid("step %q is not running", d.Step)
	}
	h := st.Health[checkKey(d.Server, d.Check)]
	if h == nil || h.Status != checkRunning {
		return invalid("check %s of server %q in step %s is not running", d.Check, d.Server, d.Step)
	}
	h.Status, h.Ended, h.Attempts, h.Result = checkFailed, ev.At, d.Attempts, d.Result
	if ev.Type == EvHealthCheckPassed {
		h.Status = checkPassed
	}
	return nil
}

// checkRun is a driver's memory of one running check: attempts so far, the
// last result, when the next attempt is due, an SSM command in flight.
type checkRun struct {
	attempts int
	result   string
	next     time.Time
	command  string // an SSM command sent and not yet ended
	ip       string // the instance's private IP, once read
}

// attemptTimeout bounds one attempt of a check (in wall time).
func attemptTimeout(c ripcord.HealthCheck) time.Duration {
	return min(max(c.Interval, time.Second), 10*time.Second)
}

// healthRun returns the driver's memory of a check.
func (r *run) healthRun(step, key string) *checkRun {
	if r.health == nil {
		r.health = map[string]*checkRun{}
	}
	k := step + "\x00" + key
	cr := r.health[k]
	if cr == nil {
		cr = &checkRun{}
		r.health[k] = cr
	}
	return cr
}

// startGates records HealthCheckStarted for every check of every launched
// server of a launch step with a health gate that has none yet.
func (r *run) startGates(st *StepState) error {
	var evs []ripcord.Event
	for _, id := range sortedKeys(st.Servers) {
		sv := st.Servers[id]
		if sv.Status != srvLaunched {
			continue
		}
		for _, c := range st.Spec.Health {
			if st.Health[checkKey(id, c.Name)] == nil {
				evs = append(evs, r.ev(EvHealthCheckStarted, HealthCheckStarted{Step: st.Spec.Name, Check: c.Name, Server: id,
					Instance: sv.InstanceID, Deadline: r.now().Add(c.Timeout)}))
			}
		}
	}
	if len(evs) == 0 {
		return nil
	}
	return r.record(evs...)
}

// gatesPending reports whether the step's health gate still has servers
// to check, and names the critical servers whose checks failed.
func (st *StepState) gatesPending() (pending bool, failed []string) {
	if len(st.Spec.Health) == 0 {
		return false, nil
	}
	for _, id := range sortedKeys(st.Servers) {
		sv := st.Servers[id]
		if sv.Status != srvLaunched {
			continue
		}
		for _, c := range st.Spec.Health {
			h := st.Health[checkKey(id, c.Name)]
			switch {
			case h == nil || h.Status == checkRunning:
				pending = true
			case h.Status == checkFailed && !sv.Optional:
				failed = append(failed, fmt.Sprintf("%s: check %s failed after %d attempts: %s", id, c.Name, h.Attempts, h.Result))
			}
		}
	}
	return pending, failed
}

// driveCheckStep moves a running check step on: it starts its checks on
// the instances of the launch steps it is after (once for a fixed host),
// attempts the due ones, and ends the step when every check has ended.
func (r *run) driveCheckStep(st *StepState) error {
	name := st.Spec.Name
	if st.Health == nil {
		var evs []ripcord.Event
		for _, c := range st.Spec.Checks {
			if !c.PerInstance() {
				evs = append(evs, r.ev(EvHealthCheckStarted, HealthCheckStarted{Step: name, Check: c.Name, Deadline: r.now().Add(c.Timeout)}))
				continue
			}
			n := 0
			for _, a := range st.Spec.After {
				dep := r.s.Steps[a]
				if dep == nil || dep.Spec.Kind != ripcord.StepLaunch {
					continue
				}
				for _, id := range sortedKeys(dep.Servers) {
					if sv := dep.Servers[id]; sv.Status == srvLaunched && sv.InstanceID != "" {
						n++
						evs = append(evs, r.ev(EvHealthCheckStarted, HealthCheckStarted{Step: name, Check: c.Name, Server: id,
							Instance: sv.InstanceID, Deadline: r.now().Add(c.Timeout)}))
					}
				}
			}
			if n == 0 {
				return r.record(r.ev(EvStepFinished, StepFinished{Step: name, Status: stepFailed,
					Reason: fmt.Sprintf("check %s has no recovery instance to check: no server of the launch steps %s launched", c.Name, strings.Join(st.Spec.After, ", "))}))
			}
		}
		if err := r.record(evs...); err != nil {
			return err
		}
	}
	if err := r.attemptChecks(st); err != nil {
		return err
	}
	var failed []string
	for _, k := range sortedKeys(st.Health) {
		h := st.Health[k]
		switch h.Status {
		case checkRunning:
			return nil
		case checkFailed:
			failed = append(failed, fmt.Sprintf("%s failed after %d attempts: %s", checkName(h), h.Attempts, h.Result))
		}
	}
	if len(failed) > 0 {
		return r.record(r.ev(EvStepFinished, StepFinished{Step: name, Status: stepFailed, Reason: strings.Join(failed, "; ")}))
	}
	return r.succeedStep(st, fmt.Sprintf("%d checks passed", len(st.Health)))
}

func checkName(h *CheckState) string {
	if h.Server == "" {
		return "check " + h.Check
	}
	return fmt.Sprintf("check %s of %s", h.Check, h.Server)
}

// serverTarget is the target of a server of the execution.
func (r *run) serverTarget(id string) string {
	for _, st := range r.s.Steps {
		if sv := st.Servers[id]; sv != nil {
			return sv.Target
		}
	}
	return ""
}

// attemptChecks makes the attempts of the step's running checks that are
// due, in parallel, and records the checks that passed or gave up.
func (r *run) attemptChecks(st *StepState) error {
	now := r.now()
	type job struct {
		h   *CheckState
		c   ripcord.HealthCheck
		cr  *checkRun
		res attempt
	}
	var jobs []*job
	for _, k := range sortedKeys(st.Health) {
		h := st.Health[k]
		if h.Status != checkRunning {
			continue
		}
		cr := r.healthRun(st.Spec.Name, k)
		if now.Before(cr.next) {
			continue
		}
		c, _ := st.Spec.check(h.Check)
		jobs = append(jobs, &job{h: h, c: c, cr: cr})
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.ctx, attemptTimeout(j.c))
			defer cancel()
			j.res = r.attempt(ctx, j.c, j.h, j.cr)
		}()
	}
	wg.Wait()
	if r.ctx.Err() != nil {
		return r.ctx.Err()
	}
	var evs []ripcord.Event
	now = r.now()
	for _, j := range jobs {
		cr, c, h := j.cr, j.c, j.h
		end := HealthCheckEnded{Step: st.Spec.Name, Check: h.Check, Server: h.Server}
		if j.res.done || j.res.wait {
			cr.result = j.res.result
		}
		if j.res.done {
			cr.attempts++
		}
		end.Attempts, end.Result = cr.attempts, cr.result
		switch {
		case j.res.done && j.res.ok:
			evs = append(evs, r.ev(EvHealthCheckPassed, end))
			continue
		case j.res.done && c.Retries > 0 && cr.attempts > c.Retries:
			end.Result = fmt.Sprintf("%d attempts failed (retries: %d); last: %s", cr.attempts, c.Retries, cr.result)
			evs = append(evs, r.ev(EvHealthCheckFailed, end))
			continue
		case !now.Before(h.Deadline):
			last := cr.result
			if last == "" {
				last = "no attempt finished"
			}
			if !j.res.done && !j.res.wait {
				last += "; " + j.res.result
			}
			end.Result = fmt.Sprintf("did not pass within its timeout of %s; last result: %s", h.Deadline.Sub(h.Started).Round(time.Second), last)
			evs = append(evs, r.ev(EvHealthCheckFailed, end))
			continue
		}
		if j.res.done || j.res.wait {
			cr.next = now.Add(c.Interval)
		} else {
			cr.next = now.Add(min(c.Interval, 5*time.Second)) // an SSM command in flight: look again soon
		}
	}
	if len(evs) == 0 {
		return nil
	}
	return r.record(evs...)
}

// attempt is the outcome of one try: done (an attempt finished, passing
// or not) or still waiting on an SSM command.
type attempt struct {
	done, ok bool
	// wait: nothing was tried (an SSM command not sent); the next try is
	// an interval later.
	wait   bool
	result string
}

func passed(format string, args ...any) attempt {
	return attempt{done: true, ok: true, result: fmt.Sprintf(format, args...)}
}

func failed(format string, args ...any) attempt {
	return attempt{done: true, result: fmt.Sprintf(format, args...)}
}

// instances returns the EC2 and SSM client of a server's target.
func (r *run) instances(server string) (ripcord.Instances, string, error) {
	target := r.serverTarget(server)
	in := r.e.cfg.Instances[target]
	if in == nil {
		return nil, target, fmt.Errorf("no EC2/SSM client for target %q", target)
	}
	return in, target, nil
}

// describe reads the EC2 status of the instance check h is about; ok is
// false when EC2 does not know it, and fail is the attempt's failure when
// EC2 could not be asked.
func (r *run) describe(ctx context.Context, h *CheckState) (is ripcord.InstanceStatus, ok bool, fail *attempt) {
	in, _, err := r.instances(h.Server)
	if err != nil {
		a := failed("%v", err)
		return is, false, &a
	}
	sts, err := in.InstanceStatus(ctx, []string{h.Instance})
	if err != nil {
		a := failed("EC2 DescribeInstanceStatus: %v", err)
		return is, false, &a
	}
	is, ok = sts[h.Instance]
	return is, ok, nil
}

// attempt makes one try of check c on the check state h.
func (r *run) attempt(ctx context.Context, c ripcord.HealthCheck, h *CheckState, cr *checkRun) attempt {
	switch c.Type {
	case ripcord.CheckEC2Status:
		is, ok, fail := r.describe(ctx, h)
		switch {
		case fail != nil:
			return *fail
		case !ok:
			return failed("EC2 does not know instance %s", h.Instance)
		case is.State != "running":
			return failed("instance %s is %s", h.Instance, is.State)
		case is.System == "ok" && is.Instance == "ok":
			return passed("instance %s running, system status ok, instance status ok", h.Instance)
		}
		return failed("instance %s running, system status %s, instance status %s", h.Instance, is.System, is.Instance)
	case ripcord.CheckSSM:
		in, _, err := r.instances(h.Server)
		if err != nil {
			return failed("%v", err)
		}
		if cr.command == "" {
			var params map[string][]string // a check's parameters have one value each
			if len(c.Parameters) > 0 {
				params = map[string][]string{}
				for k, v := range c.Parameters {
					params[k] = []string{v}
				}
			}
			id, err := in.SendCommand(ctx, c.Document, []string{h.Instance}, params)
			if err != nil {
				// Not sent (most often: the instance's SSM agent is
				// not online yet): not an attempt; tried again after
				// the interval, within the timeout.
				return attempt{wait: true, result: fmt.Sprintf("SSM SendCommand %s: %v", c.Document, err)}
			}
			cr.command = id
			return attempt{result: "SSM command " + id + " sent"}
		}
		res, err := in.CommandInvocation(ctx, cr.command, h.Instance)
		if err != nil {
			return attempt{result: fmt.Sprintf("SSM GetCommandInvocation %s: %v", cr.command, err)}
		}
		// A check waits only while the command is Pending, InProgress or
		// Delayed: any other status ends the attempt, Cancelling or one
		// SSM may add too (where a hook waits for res.Done).
		switch res.Status {
		case "Pending", "InProgress", "Delayed", "":
			return attempt{result: fmt.Sprintf("SSM command %s is %s", cr.command, res.Status)}
		}
		id := cr.command
		cr.command = ""
		text := fmt.Sprintf("SSM command %s (%s) %s with exit code %d", id, c.Document, res.Status, res.ExitCode)
		if out := strings.TrimSpace(res.Error + " " + res.Output); out != "" {
			text += ": " + clip(out, 200)
		}
		if res.OK && res.ExitCode == 0 {
			return attempt{done: true, ok: true, result: text}
		}
		return attempt{done: true, result: text}
	case ripcord.CheckTCP, ripcord.CheckHTTP:
		text := c.Address
		if c.Type == ripcord.CheckHTTP {
			text = c.URL
		}
		if c.PerInstance() {
			if cr.ip == "" && strings.Contains(text, ".PrivateIP") {
				is, _, fail := r.describe(ctx, h)
				if fail != nil {
					return *fail
				}
				if cr.ip = is.PrivateIP; cr.ip == "" {
					return failed("EC2 shows no private IP for instance %s", h.Instance)
				}
			}
			var err error
			if text, err = fill(text, cr.ip, h.Instance); err != nil {
				return failed("%v", err)
			}
		}
		if c.Type == ripcord.CheckTCP {
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", text)
			if err != nil {
				return failed("TCP connect to %s: %v", text, err)
			}
			conn.Close()
			return passed("TCP connect to %s succeeded", text)
		}
		return r.httpAttempt(ctx, c, text)
	}
	return failed("unknown check type %q", c.Type)
}

func (r *run) httpAttempt(ctx context.Context, c ripcord.HealthCheck, url string) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return failed("GET %s: %v", url, err)
	}
	req.Header.Set("User-Agent", "ripcord-health-check")
	client := r.e.cfg.HTTPClient
	if client == nil {
		client = defaultHTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return failed("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	want := c.Status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return failed("GET %s: HTTP %d, want %d: %s", url, resp.StatusCode, want, clip(string(bytes.TrimSpace(body)), 120))
	}
	if c.Body != "" {
		re, err := regexp.Compile(c.Body)
		if err != nil {
			return failed("body pattern %q: %v", c.Body, err)
		}
		if !re.Match(body) {
			return failed("GET %s: HTTP %d, but the body does not match %q: %s", url, resp.StatusCode, c.Body, clip(string(bytes.TrimSpace(body)), 120))
		}
	}
	return passed("GET %s: HTTP %d", url, resp.StatusCode)
}

// defaultHTTPClient is the http checks' client when the engine is given
// none: it follows no redirects (the status decides) and verifies TLS.
var defaultHTTPClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment},
}

// fill expands a check's template with an instance's private IP and ID.
func fill(text, ip, instance string) (string, error) {
	t, err := template.New("check").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", text, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ PrivateIP, InstanceID string }{ip, instance}); err != nil {
		return "", fmt.Errorf("template %q: %w", text, err)
	}
	return b.String(), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// healthNext considers when the next check attempt of a running step is due,
// or a check's deadline passes: the driver sleeps no longer.
func (r *run) healthNext(consider func(time.Time)) {
	for name, st := range r.s.Steps {
		if st.Status != stepRunning {
			continue
		}
		for k, h := range st.Health {
			if h.Status != checkRunning {
				continue
			}
			consider(h.Deadline)
			if cr := r.health[name+"\x00"+k]; cr != nil {
				consider(cr.next)
			}
		}
	}
}

// Healthy is the recovery time to healthy: from the execution's start
// until the last of its critical servers passed its health gate (a server
// of a launch step without a gate counts when it launched) and its check
// steps passed. It is measured only when the plan has health checks
// (Checked); while a critical server or a check step is not healthy,
// NotHealthy names them.
type Healthy struct {
	Checked  bool
	Measured time.Duration
	// Last is the last server (or check step) to turn healthy, in step
	// Step, at At.
	Last, Step string
	At         time.Time
	NotHealthy []string
}

// Complete reports whether everything the plan checks is healthy.
func (h Healthy) Complete() bool { return h.Checked && len(h.NotHealthy) == 0 && !h.At.IsZero() }

// HealthyTime measures the execution's RTO to healthy (see Healthy).
func (s *State) HealthyTime() Healthy {
	var h Healthy
	for _, name := range s.Order {
		if len(s.Steps[name].Spec.checks()) > 0 {
			h.Checked = true
		}
	}
	if !h.Checked {
		return h
	}
	later := func(last, step string, at time.Time) {
		if at.After(h.At) {
			h.Last, h.Step, h.At = last, step, at
		}
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		if st.Spec.Kind == ripcord.StepCheck {
			if st.Status == stepSucceeded {
				later(name, name, st.Ended)
			} else {
				h.NotHealthy = append(h.NotHealthy, "check step "+name)
			}
			continue
		}
		for _, id := range sortedKeys(st.Servers) {
			sv := st.Servers[id]
			if sv.Optional {
				continue
			}
			if sv.Status != srvLaunched {
				h.NotHealthy = append(h.NotHealthy, fmt.Sprintf("%s (step %s)", id, name))
				continue
			}
			at, ok := st.ServerHealthy(id)
			if !ok {
				h.NotHealthy = append(h.NotHealthy, fmt.Sprintf("%s (step %s)", id, name))
				continue
			}
			later(id, name, at)
		}
	}
	if !h.At.IsZero() {
		h.Measured = h.At.Sub(s.Started)
	}
	return h
}

// ServerHealthy returns when a launched server of a launch step turned
// healthy: when the last check of its health gate passed, or when it
// launched if the step has no gate; false while it is not healthy.
func (st *StepState) ServerHealthy(id string) (time.Time, bool) {
	sv := st.Servers[id]
	if sv == nil || sv.Status != srvLaunched {
		return time.Time{}, false
	}
	at := sv.LaunchedAt
	for _, c := range st.Spec.Health {
		ch := st.Health[checkKey(id, c.Name)]
		if ch == nil || ch.Status != checkPassed {
			return time.Time{}, false
		}
		if ch.Ended.After(at) {
			at = ch.Ended
		}
	}
	return at, true
}

// CheckRecord is one health check as it ran, for reports.
type CheckRecord struct {
	Check    string    `json:"check"`
	Server   string    `json:"server,omitempty"`
	Instance string    `json:"instance,omitempty"`
	Status   string    `json:"status"` // running, passed, failed
	Started  time.Time `json:"startedAt"`
	Ended    time.Time `json:"endedAt,omitzero"`
	Attempts int       `json:"attempts"`
	Result   string    `json:"result,omitempty"`
}

// CheckRecords lists the step's health checks, by server and check.
func (st *StepState) CheckRecords() []CheckRecord {
	var out []CheckRecord
	for _, k := range sortedKeys(st.Health) {
		h := st.Health[k]
		out = append(out, CheckRecord{Check: h.Check, Server: h.Server, Instance: h.Instance, Status: h.Status,
			Started: h.Started, Ended: h.Ended, Attempts: h.Attempts, Result: h.Result})
	}
	return out
}
