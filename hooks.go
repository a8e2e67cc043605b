package ripcord

import (
	"context"
	"slices"
	"time"
)

// Hook is one call a plan makes besides launching: an HTTP request, an SSM
// Automation document or Run Command, or a local command. A hook step runs
// one (Step.Hook); any step may run hooks before and after its own work
// (Step.Hooks). Exactly one of HTTP, SSM and Command is set.
//
// New fields must be tagged omitempty (or omitzero), so that adding one does
// not change the hash of plans that do not use it.
type Hook struct {
	Name string `json:"name"`
	// Modes are the execution modes the hook runs in; empty: every mode.
	// A hook that does not run in a mode is recorded as skipped there
	// (a DNS switch that must not run in a drill).
	Modes []Mode `json:"modes,omitempty"`
	// Idempotent says that running the hook twice does no harm: after a
	// crash left its outcome unknown, it is run again. Otherwise the
	// execution pauses for a person.
	Idempotent bool `json:"idempotent,omitempty"`
	// Timeout bounds one attempt; zero: DefaultHookTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retries is how many times a failed attempt is tried again.
	Retries int `json:"retries,omitempty"`
	// Backoff is the wait before the first retry, doubled for each later
	// one; zero: DefaultHookBackoff.
	Backoff time.Duration `json:"backoff,omitempty"`

	HTTP    *HTTPHook    `json:"http,omitempty"`
	SSM     *SSMHook     `json:"ssm,omitempty"`
	Command *CommandHook `json:"command,omitempty"`
}

// Defaults of a hook's timeout and backoff.
const (
	DefaultHookTimeout = 5 * time.Minute
	DefaultHookBackoff = 5 * time.Second
)

// Hook kinds, as HookKind returns them.
const (
	HookHTTP    = "http"
	HookSSM     = "ssm"
	HookCommand = "command"
)

// Kind returns HookHTTP, HookSSM or HookCommand, or "" when the hook sets
// none of them.
func (h Hook) Kind() string {
	switch {
	case h.HTTP != nil:
		return HookHTTP
	case h.SSM != nil:
		return HookSSM
	case h.Command != nil:
		return HookCommand
	}
	return ""
}

// RunsIn reports whether the hook runs in mode m.
func (h Hook) RunsIn(m Mode) bool { return len(h.Modes) == 0 || slices.Contains(h.Modes, m) }

// HTTPHook is an HTTP request; any 2xx answer is success.
type HTTPHook struct {
	Method string `json:"method,omitempty"` // empty: POST
	URL    string `json:"url"`
	// Headers are sent with the request. Values from the environment or
	// a secret are read when the hook runs, and never recorded.
	Headers map[string]HeaderValue `json:"headers,omitempty"`
	// Body is a text/template executed with the hook's context (see
	// engine.HookContext).
	Body string `json:"body,omitempty"`
}

// HeaderValue is a header's value: literal text, the value of an
// environment variable, or a secret (see engine.EnvSecrets).
type HeaderValue struct {
	Value  string `json:"value,omitempty"`
	Env    string `json:"env,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// SSMHook runs an SSM Automation document, or an SSM Run Command document
// on the recovery instances of its step's launched servers, and waits for
// the outcome.
type SSMHook struct {
	// Target is the target whose credentials call SSM; empty: the file's
	// only target.
	Target string `json:"target,omitempty"`
	// Automation is an Automation document's name; Command a Run Command
	// document's. Exactly one is set.
	Automation string              `json:"automation,omitempty"`
	Command    string              `json:"command,omitempty"`
	Parameters map[string][]string `json:"parameters,omitempty"`
}

// CommandHook is a local command, run without a shell.
type CommandHook struct {
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env,omitempty"` // added to ripcord's environment
	Dir  string            `json:"dir,omitempty"`
}

// StepHooks are the hooks a step runs before its own work starts and after
// it succeeded.
type StepHooks struct {
	Before []Hook `json:"before,omitempty"`
	After  []Hook `json:"after,omitempty"`
}

// SSM is what SSM hooks need of AWS Systems Manager in one target:
// Automation, and Run Command (health.go) on recovery instances. Package
// ec2ssm implements it on the AWS SDK.
type SSM interface {
	// StartAutomation starts an Automation document and returns the
	// execution's ID.
	StartAutomation(ctx context.Context, document string, params map[string][]string) (string, error)
	// Automation returns an automation execution's status.
	Automation(ctx context.Context, id string) (SSMStatus, error)
	RunCommand
}

// SSMStatus is where an automation execution or an SSM hook's command
// invocation is.
type SSMStatus struct {
	Status string // SSM's: Pending, InProgress, Success, Failed, TimedOut, Cancelled...
	Done   bool   // the status is final
	OK     bool   // it succeeded
	// Output is the standard output and error of a command, or the
	// outputs or failure message of an automation.
	Output string
}
