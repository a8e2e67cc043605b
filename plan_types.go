package ripcord

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultConflictDeadline is how long a launch step waits, by default, for
// DRS jobs that hold its servers before it gives up on them. The plan
// decoder fills it in when a plan does not say.
const DefaultConflictDeadline = 15 * time.Minute

// Target is where DRS is called: one AWS account and region, reached with
// the caller's credentials or through a role to assume.
//
// New fields must be tagged omitempty (or omitzero), so that adding one does
// not change the hash of plans that do not use it.
type Target struct {
	Name    string `json:"name"`
	Account string `json:"account"` // 12 digits
	Region  string `json:"region"`  // e.g. us-east-1
	// RoleARN, when set, is assumed to call DRS. It must be a role in
	// Account: the role, not the caller, decides which account DRS sees.
	RoleARN string `json:"roleArn,omitempty"`
	// ExternalID is passed when assuming RoleARN. Each target should have
	// its own: one shared external ID defeats its purpose.
	ExternalID string `json:"externalId,omitempty"`
	// Endpoint overrides the DRS endpoint URL, e.g. a simulator.
	Endpoint string `json:"endpoint,omitempty"`
}

// ProtectionGroup is a named set of source servers in one target: explicit
// source server IDs, the servers whose tags match Selector, or both (the
// union). The set is resolved against DRS when an execution starts and frozen
// into it, so a plan never runs on a stale list.
type ProtectionGroup struct {
	Name   string `json:"name"`
	Target string `json:"target"` // the name of a Target
	// Servers are source server IDs (s-…) that belong to the group.
	Servers []string `json:"servers,omitempty"`
	// Selector matches the source servers that carry every one of these
	// tags with exactly these values.
	Selector map[string]string `json:"selector,omitempty"`
	// Launch overrides how DRS launches the group's servers (see
	// LaunchOverrides); nil: as DRS has it.
	Launch *LaunchOverrides `json:"launch,omitempty"`
	// ServerLaunch overrides it per server of the group, by source server
	// ID; a server's entry wins over Launch, field by field.
	ServerLaunch map[string]LaunchOverrides `json:"serverLaunch,omitempty"`
}

// FailurePolicy says what an execution does when a critical server of a
// step fails to launch.
type FailurePolicy string

// Failure policies.
const (
	FailureStop     FailurePolicy = "stop"     // start no new step; the execution fails once running steps end
	FailurePause    FailurePolicy = "pause"    // start no new step and wait for a person to retry, skip, resume or cancel
	FailureContinue FailurePolicy = "continue" // mark the step failed and go on with the steps that do not depend on it
)

// FailurePolicies lists the valid failure policies, the default first.
var FailurePolicies = []FailurePolicy{FailureStop, FailurePause, FailureContinue}

// Settings are the settings of a plan. A zero duration means "not set",
// except ConflictDeadline, which is always set (the decoder defaults it to
// DefaultConflictDeadline).
type Settings struct {
	// RTOTarget is the recovery time the plan should meet, measured from
	// the start of an execution until its last critical (not optional)
	// server is launched. Reports compare the measured time with it; it
	// does not stop anything.
	RTOTarget time.Duration `json:"rtoTarget,omitempty"`
	// RPOTarget is the largest replication lag a server may have and
	// still be launched. Zero: lag is not checked (replication must still
	// be continuous).
	RPOTarget time.Duration `json:"rpoTarget,omitempty"`
	// FailurePolicy applies when a critical server fails to launch.
	FailurePolicy FailurePolicy `json:"failurePolicy"`
	// ConflictDeadline bounds how long a launch step waits for DRS jobs
	// that hold its servers, counted from the step's start.
	ConflictDeadline time.Duration `json:"conflictDeadline"`
	// StepTimeout bounds a launch step from its start until all its
	// servers are final. Zero: no limit.
	StepTimeout time.Duration `json:"stepTimeout,omitempty"`
	// OutageLimit bounds how long DRS may keep failing with transient
	// errors (5xx, timeouts, lost connections) while ripcord keeps trying
	// and shows the outage; then the execution pauses for a person. Zero:
	// the engine's default (30m).
	OutageLimit time.Duration `json:"outageLimit,omitempty"`
	// DrillEvery is how old the plan's last successful drill may be
	// before the plan is stale. Zero: age alone never makes it stale.
	DrillEvery time.Duration `json:"drillEvery,omitempty"`
	// Schedule runs the plan as a drill at the times of a cron expression
	// (five fields: minute hour day-of-month month day-of-week), read in
	// TimeZone (an IANA name; empty: UTC). ripcord serve runs it.
	Schedule string `json:"schedule,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
	// CleanupAfter cleans a drill up this long after it ends: scheduled
	// drills and runs that do not say otherwise. Zero: a scheduled drill
	// is cleaned up as soon as it ends.
	CleanupAfter time.Duration `json:"cleanupAfter,omitempty"`
	// Notify lists where the plan's executions send notifications.
	Notify []Notification `json:"notify,omitempty"`
}

// Notification is one destination of a plan's notifications: a webhook or
// an Amazon SNS topic.
type Notification struct {
	// Webhook is a URL that receives a POST per notification.
	Webhook string `json:"webhook,omitempty"`
	// Format is the webhook's body: json (ripcord's own) or slack (a
	// Slack-compatible message). Empty: json.
	Format string `json:"format,omitempty"`
	// SNS is the ARN of an SNS topic to publish to, with the credentials
	// (and endpoint) of Target.
	SNS    string `json:"sns,omitempty"`
	Target string `json:"target,omitempty"`
	// Events limits the notification to these kinds (started, waiting,
	// stepFailed, finished, cleanup, readiness); empty: every kind.
	Events []string `json:"events,omitempty"`
}

// Plan is a recovery plan: a named graph of steps. A step starts when every
// step it is After is done. Waves in a plan file become steps, each After
// the previous wave.
type Plan struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Settings    Settings `json:"settings"`
	Steps       []Step   `json:"steps,omitempty"`
}

// StepKind is what a step does.
type StepKind string

// Step kinds. Every kind here is supported.
const (
	StepLaunch   StepKind = "launch"   // launch the servers of protection groups and/or explicit servers
	StepWait     StepKind = "wait"     // wait for Duration
	StepApproval StepKind = "approval" // a person must approve (approval.go)
	StepHook     StepKind = "hook"     // call a webhook, SSM document or command (hooks.go)
	StepCheck    StepKind = "check"    // health checks of the instances of the steps it is after (health.go)
)

// StepKinds lists the step kinds that plans may use today, the default
// first.
var StepKinds = []StepKind{StepLaunch, StepWait, StepApproval, StepCheck, StepHook}

// Step is one node of a plan's graph.
type Step struct {
	Name string   `json:"name"`
	Kind StepKind `json:"kind"`
	// After names the steps that must be done before this one starts.
	After []string `json:"after,omitempty"`
	// Groups names the protection groups a launch step launches.
	Groups []string `json:"groups,omitempty"`
	// Servers are source servers a launch step launches besides its
	// groups' servers. A server of one of its groups may be listed here to
	// mark it optional.
	Servers []ServerRef `json:"servers,omitempty"`
	// Duration is how long a wait step waits.
	Duration time.Duration `json:"duration,omitempty"`
	// Approval is who must approve an approval step, and what happens
	// when nobody does in time.
	Approval *Approval `json:"approval,omitempty"`
	// Health is a launch step's health gate: checks each launched server
	// must pass for the step to succeed (health.go).
	Health []HealthCheck `json:"health,omitempty"`
	// Checks are a check step's health checks, run on the recovery
	// instances of the launch steps it is after.
	Checks []HealthCheck `json:"checks,omitempty"`
	// Hook is what a hook step runs.
	Hook *Hook `json:"hook,omitempty"`
	// Hooks run before the step's own work and after it succeeded.
	Hooks *StepHooks `json:"hooks,omitempty"`
}

// AllHooks returns the hooks of the step: its before hooks, a hook step's
// own hook, then its after hooks.
func (s *Step) AllHooks() []Hook {
	var out []Hook
	if s.Hooks != nil {
		out = append(out, s.Hooks.Before...)
	}
	if s.Hook != nil {
		out = append(out, *s.Hook)
	}
	if s.Hooks != nil {
		out = append(out, s.Hooks.After...)
	}
	return out
}

// ServerRef names one source server in a launch step.
type ServerRef struct {
	ID     string `json:"id"`
	Target string `json:"target"` // the name of the Target the server is in
	// Optional servers may fail to launch without failing the step.
	Optional bool `json:"optional,omitempty"`
}

// PlanFile is the content of one plan file: the targets, protection groups
// and plans it declares. Plans refer to groups and groups to targets by name.
type PlanFile struct {
	Targets          []Target          `json:"targets,omitempty"`
	ProtectionGroups []ProtectionGroup `json:"protectionGroups,omitempty"`
	Plans            []Plan            `json:"plans,omitempty"`
	// Source is the file as written (YAML), when it was decoded from one:
	// what a plan version keeps, so that it decodes again.
	Source []byte `json:"-"`
}

// Plan returns the plan named name.
func (f *PlanFile) Plan(name string) (*Plan, bool) {
	for i := range f.Plans {
		if f.Plans[i].Name == name {
			return &f.Plans[i], true
		}
	}
	return nil, false
}

// Target returns the target named name.
func (f *PlanFile) Target(name string) (*Target, bool) {
	for i := range f.Targets {
		if f.Targets[i].Name == name {
			return &f.Targets[i], true
		}
	}
	return nil, false
}

// ProtectionGroup returns the protection group named name.
func (f *PlanFile) ProtectionGroup(name string) (*ProtectionGroup, bool) {
	for i := range f.ProtectionGroups {
		if f.ProtectionGroups[i].Name == name {
			return &f.ProtectionGroups[i], true
		}
	}
	return nil, false
}

// Extract returns a plan file holding only the plan named name and the
// protection groups and targets it uses. Its Hash names that plan's version:
// it changes when anything the plan depends on changes, and only then.
func (f *PlanFile) Extract(name string) (*PlanFile, error) {
	p, ok := f.Plan(name)
	if !ok {
		names := make([]string, len(f.Plans))
		for i, p := range f.Plans {
			names[i] = p.Name
		}
		return nil, &Error{Code: ENOTFOUND, Message: "no plan named " + strconv.Quote(name),
			Hint: "the file's plans are: " + strings.Join(names, ", ")}
	}
	groups := map[string]bool{}
	targets := map[string]bool{}
	for _, s := range p.Steps {
		for _, g := range s.Groups {
			groups[g] = true
		}
		for _, r := range s.Servers {
			targets[r.Target] = true
		}
		for _, h := range s.AllHooks() {
			if h.SSM != nil {
				targets[h.SSM.Target] = true
			}
		}
	}
	out := &PlanFile{Plans: []Plan{*p}}
	for _, g := range f.ProtectionGroups {
		if groups[g.Name] {
			out.ProtectionGroups = append(out.ProtectionGroups, g)
			targets[g.Target] = true
		}
	}
	for _, t := range f.Targets {
		if targets[t.Name] {
			out.Targets = append(out.Targets, t)
		}
	}
	return out, nil
}

// Hash returns the hex SHA-256 of the file's canonical JSON encoding, so an
// execution can name the exact version of the plan it ran (hash the result
// of [PlanFile.Extract] for one plan). The canonical form sorts targets,
// protection groups and plans by name, selectors by key (JSON objects are
// written sorted), and keeps the order of everything else; empty lists and
// zero values are left out, so nil and empty hash alike. Durations are
// integers of nanoseconds. Waves are already steps, so a plan written with
// waves and the same plan written as steps with after: hash alike.
func (f *PlanFile) Hash() string {
	c := PlanFile{
		Targets:          slices.Clone(f.Targets),
		ProtectionGroups: slices.Clone(f.ProtectionGroups),
		Plans:            slices.Clone(f.Plans),
	}
	slices.SortStableFunc(c.Targets, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(c.ProtectionGroups, func(a, b ProtectionGroup) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(c.Plans, func(a, b Plan) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(c)
	if err != nil {
		// Plain strings, integers, booleans and string maps always encode.
		panic("ripcord: encoding a plan file: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ResolvedStep is a launch step with its concrete servers: what an execution
// freezes when it starts, so that it never depends on tags read later.
type ResolvedStep struct {
	Step    string           `json:"step"`
	Servers []ResolvedServer `json:"servers"` // sorted by target, then ID
}

// ResolvedServer is one source server of a resolved launch step.
type ResolvedServer struct {
	Target   string `json:"target"`
	ID       string `json:"id"`
	Optional bool   `json:"optional,omitempty"`
	// Groups are the protection groups that selected the server; empty
	// when the step names it only explicitly.
	Groups []string `json:"groups,omitempty"`
	// Launch is the launch configuration the plan's protection groups set
	// for the server (their launch: and serverLaunch:); nil: none.
	Launch *LaunchOverrides `json:"launch,omitempty"`
}
