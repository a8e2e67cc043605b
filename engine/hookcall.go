package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// HookContext is what an HTTP hook's body template sees: {{.ExecutionID}},
// {{.Plan}}, {{.Mode}}, {{.Step}}, {{range .Servers}}{{.InstanceID}}{{end}}.
type HookContext struct {
	ExecutionID string
	Plan        string
	PlanHash    string
	Mode        string
	Step        string
	Phase       string // before, hook or after
	Hook        string
	// Servers are the step's servers for a launch step, else every
	// server of the execution, in plan order.
	Servers []HookServer
}

// HookServer is a server in a HookContext.
type HookServer struct {
	ID         string // the source server
	Target     string
	Status     string // PENDING, LAUNCHED, FAILED...
	InstanceID string // the recovery instance; empty until launched
}

// hookContext builds the context of a hook of st.
func (r *run) hookContext(st *StepState, ref HookRef) HookContext {
	c := HookContext{ExecutionID: r.s.ID, Plan: r.s.Spec.Plan, PlanHash: r.s.Spec.PlanHash, Mode: string(r.s.Spec.Mode),
		Step: ref.Step, Phase: ref.Phase, Hook: ref.Hook}
	add := func(s *StepState) {
		for _, sp := range s.Spec.Servers {
			if sv := s.Servers[sp.ID]; sv != nil {
				c.Servers = append(c.Servers, HookServer{ID: sv.ID, Target: sv.Target, Status: sv.Status, InstanceID: sv.InstanceID})
			}
		}
	}
	if st.Spec.Kind == ripcord.StepLaunch {
		add(st)
		return c
	}
	for _, name := range r.s.Order {
		add(r.s.Steps[name])
	}
	return c
}

// hookOutcome is what one attempt of a hook gave.
type hookOutcome struct {
	Status string // "200", "Success", "exit 3"
	Output string
	Err    error // nil: success
}

// hookWhat says what a hook calls, for events and remedies: never a
// header, a query string or a secret.
func hookWhat(h ripcord.Hook) string {
	switch {
	case h.HTTP != nil:
		u, err := url.Parse(h.HTTP.URL)
		if err != nil {
			return h.HTTP.Method
		}
		u.RawQuery, u.User, u.Fragment = "", nil, ""
		return h.HTTP.Method + " " + u.String()
	case h.SSM != nil && h.SSM.Automation != "":
		return "SSM automation " + h.SSM.Automation + " in target " + h.SSM.Target
	case h.SSM != nil:
		return "SSM command " + h.SSM.Command + " in target " + h.SSM.Target
	case h.Command != nil && len(h.Command.Argv) > 0:
		return "command " + filepath.Base(h.Command.Argv[0])
	}
	return ""
}

// callHook makes one attempt of h.
func (e *Engine) callHook(ctx context.Context, h ripcord.Hook, hc HookContext, spec Spec) hookOutcome {
	switch {
	case h.HTTP != nil:
		return e.callHTTP(ctx, h.HTTP, hc)
	case h.Command != nil:
		return callCommand(ctx, h.Command, hc)
	case h.SSM != nil:
		return e.callSSM(ctx, h, hc, spec)
	}
	return hookOutcome{Err: fmt.Errorf("hook %s has nothing to run", h.Name)}
}

// EnvSecrets is the default Config.Secrets: the secret NAME is the value of
// the environment variable RIPCORD_SECRET_NAME or, when that is not set,
// the content of the file NAME in the directory RIPCORD_SECRETS_DIR (as
// container platforms mount secrets), without a trailing newline.
func EnvSecrets(name string) (string, error) {
	if v, ok := os.LookupEnv("RIPCORD_SECRET_" + name); ok {
		return v, nil
	}
	if dir := os.Getenv("RIPCORD_SECRETS_DIR"); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
	}
	return "", &ripcord.Error{Code: ripcord.EINVALID, Message: "secret " + name + " is not set",
		Hint: "set RIPCORD_SECRET_" + name + ", or put a file " + name + " in the directory RIPCORD_SECRETS_DIR names"}
}

// headerValue resolves a header's value. Errors name the variable or
// secret, never a value.
func (e *Engine) headerValue(v ripcord.HeaderValue) (string, error) {
	switch {
	case v.Env != "":
		s, ok := os.LookupEnv(v.Env)
		if !ok {
			return "", &ripcord.Error{Code: ripcord.EINVALID, Message: "environment variable " + v.Env + " is not set",
				Hint: "set it in ripcord's environment"}
		}
		return s, nil
	case v.Secret != "":
		return e.cfg.Secrets(v.Secret)
	}
	return v.Value, nil
}

func (e *Engine) callHTTP(ctx context.Context, h *ripcord.HTTPHook, hc HookContext) hookOutcome {
	var body bytes.Buffer
	if h.Body != "" {
		t, err := template.New("body").Option("missingkey=error").Parse(h.Body)
		if err == nil {
			err = t.Execute(&body, hc)
		}
		if err != nil {
			return hookOutcome{Err: fmt.Errorf("the body template: %w", err)}
		}
	}
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL, &body)
	if err != nil {
		return hookOutcome{Err: err}
	}
	for k, v := range h.Headers {
		s, err := e.headerValue(v)
		if err != nil {
			return hookOutcome{Err: fmt.Errorf("header %s: %w", k, err)}
		}
		req.Header.Set(k, s)
	}
	if req.Header.Get("Content-Type") == "" && h.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "ripcord-hook")
	resp, err := e.cfg.HookHTTP.Do(req)
	if err != nil {
		// The error names the URL; strip its query, which may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return hookOutcome{Err: fmt.Errorf("%s: %w", hookWhat(ripcord.Hook{HTTP: h}), err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	out := hookOutcome{Status: strconv.Itoa(resp.StatusCode), Output: string(b)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		out.Err = fmt.Errorf("answered %s, not 2xx", resp.Status)
	}
	return out
}

func callCommand(ctx context.Context, c *ripcord.CommandHook, hc HookContext) hookOutcome {
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "RIPCORD_EXECUTION_ID="+hc.ExecutionID, "RIPCORD_PLAN="+hc.Plan,
		"RIPCORD_MODE="+hc.Mode, "RIPCORD_STEP="+hc.Step, "RIPCORD_HOOK="+hc.Hook)
	for _, k := range sortedKeys(c.Env) {
		cmd.Env = append(cmd.Env, k+"="+c.Env[k])
	}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	o := hookOutcome{Output: out.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		o.Status, o.Err = "timed out", fmt.Errorf("%s did not end in time: %w", filepath.Base(c.Argv[0]), ctx.Err())
	case errors.As(err, &ee):
		o.Status = "exit " + strconv.Itoa(ee.ExitCode())
		o.Err = fmt.Errorf("%s exited with status %d", filepath.Base(c.Argv[0]), ee.ExitCode())
	case err != nil:
		o.Err = err
	default:
		o.Status = "exit 0"
	}
	return o
}

// ssmPoll is how often a running SSM document is looked at.
const ssmPoll = 5 * time.Second

func (e *Engine) callSSM(ctx context.Context, h ripcord.Hook, hc HookContext, spec Spec) hookOutcome {
	sm := h.SSM
	var target *ripcord.Target
	for i := range spec.Targets {
		if spec.Targets[i].Name == sm.Target {
			target = &spec.Targets[i]
		}
	}
	if e.cfg.SSM == nil || target == nil {
		return hookOutcome{Err: &ripcord.Error{Code: ripcord.EINVALID, Message: "no SSM client for target " + sm.Target,
			Hint: "SSM hooks need a target of the plan, and an engine given SSM (ripcord run and serve are)"}}
	}
	client, err := e.cfg.SSM(ctx, *target)
	if err != nil {
		return hookOutcome{Err: fmt.Errorf("SSM in target %s: %w", sm.Target, err)}
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = ripcord.DefaultHookTimeout
	}
	deadline := e.cfg.Clock.Now().Add(timeout)
	wait := func(get func() (ripcord.SSMStatus, error)) (ripcord.SSMStatus, error) {
		for {
			st, err := get()
			if err != nil || st.Done {
				return st, err
			}
			if !e.cfg.Clock.Now().Before(deadline) {
				return st, fmt.Errorf("still %s after %s", st.Status, timeout)
			}
			if err := e.cfg.Clock.Sleep(ctx, ssmPoll); err != nil {
				return st, fmt.Errorf("still %s: %w", st.Status, err)
			}
		}
	}
	if sm.Automation != "" {
		id, err := client.StartAutomation(ctx, sm.Automation, sm.Parameters)
		if err != nil {
			return hookOutcome{Err: err}
		}
		st, err := wait(func() (ripcord.SSMStatus, error) { return client.Automation(ctx, id) })
		o := hookOutcome{Status: st.Status, Output: "automation " + id + ": " + st.Output}
		switch {
		case err != nil:
			o.Err = fmt.Errorf("automation %s of %s: %w", id, sm.Automation, err)
		case !st.OK:
			o.Err = fmt.Errorf("automation %s of %s ended %s: %s", id, sm.Automation, st.Status, st.Output)
		}
		return o
	}
	var instances []string
	for _, s := range hc.Servers {
		if s.Target == sm.Target && s.InstanceID != "" && !slices.Contains(instances, s.InstanceID) {
			instances = append(instances, s.InstanceID)
		}
	}
	if len(instances) == 0 {
		return hookOutcome{Err: fmt.Errorf("step %s has no launched recovery instance in target %s to run %s on", hc.Step, sm.Target, sm.Command)}
	}
	id, err := client.SendCommand(ctx, sm.Command, instances, sm.Parameters)
	if err != nil {
		return hookOutcome{Err: err}
	}
	o := hookOutcome{Status: "Success"}
	var outs, bad []string
	for _, in := range instances {
		st, err := wait(func() (ripcord.SSMStatus, error) {
			r, err := client.CommandInvocation(ctx, id, in)
			return hookCommandStatus(r), err
		})
		outs = append(outs, in+": "+st.Status+" "+st.Output)
		if err != nil || !st.OK {
			o.Status = st.Status
			if err != nil {
				bad = append(bad, in+" ("+err.Error()+")")
			} else {
				bad = append(bad, in+" ("+st.Status+")")
			}
		}
	}
	o.Output = "command " + id + ": " + strings.Join(outs, "; ")
	if len(bad) > 0 {
		o.Err = fmt.Errorf("command %s of %s did not succeed on %s", id, sm.Command, strings.Join(bad, ", "))
	}
	return o
}

// hookCommandStatus is a command's result on one instance as an SSM hook
// reports it: its standard output and error, after "exit N: " when it
// ended without success.
func hookCommandStatus(r ripcord.CommandResult) ripcord.SSMStatus {
	st := ripcord.SSMStatus{Status: r.Status, Done: r.Done, OK: r.OK, Output: r.Output + r.Error}
	if st.Done && !st.OK {
		st.Output = fmt.Sprintf("exit %d: %s", r.ExitCode, st.Output)
	}
	return st
}
