package client

import (
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// The API's wire format. The server (package web) encodes these same types,
// so a field is named once; docs/api.md and the OpenAPI document describe
// them, and a test keeps the document's schemas and these types alike.
// Fields may be added; none is renamed or removed. Executions and events
// are the root package's types (ripcord.Execution, ripcord.Event) and the
// summary is the engine's (engine.Summary), as `ripcord exec` prints them.

// Error codes the API adds to the root package's five (ripcord.EINVALID,
// ENOTFOUND, ECONFLICT, EINTERNAL, EUNAVAILABLE). Each maps to one HTTP
// status in the server's one table (docs/api.md).
const (
	EUNAUTHENTICATED = "unauthenticated"    // 401: no token, or one that is unknown, expired or revoked
	EFORBIDDEN       = "forbidden"          // 403: the token's role may not do this
	ETOOLARGE        = "too_large"          // 413: the request body is over the limit
	EINVALIDPLAN     = "invalid_plan"       // 422: the plan file does not validate; Problems lists why
	ERATELIMITED     = "rate_limited"       // 429: too many failed sign-ins from this address; see Retry-After
	EMETHOD          = "method_not_allowed" // 405: the path exists, the method does not; see Allow
)

// ErrorBody is every error answer: {"error": {"code", "message", "hint"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error itself. Problems is set only with EINVALIDPLAN.
type ErrorDetail struct {
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Hint     string    `json:"hint"`
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one problem of a plan file, at its position.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`   // from 1; 0: unknown
	Column  int    `json:"column,omitempty"` // from 1; 0: unknown
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string `json:"status"` // "ok"
}

// PlanSummary is a plan as the plan list shows it: its latest version.
type PlanSummary struct {
	Name     string    `json:"name"`
	Hash     string    `json:"hash"`     // the latest version
	Created  time.Time `json:"created"`  // when the latest version was saved
	Versions int       `json:"versions"` // how many versions are saved
	// Staleness compares the plan with its last good drill (ripcord serve
	// with readiness checks; absent otherwise).
	Staleness *ripcord.Staleness `json:"staleness,omitempty"`
}

// PlanList is the answer of GET /api/v1/plans.
type PlanList struct {
	Plans []PlanSummary `json:"plans"`
}

// Plan is one version of a plan, with its source.
type Plan struct {
	Name    string    `json:"name"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	// Source is the version as it was saved: the YAML plan file it came
	// in (format "yaml": POST /api/v1/plans), or the JSON of the plan and
	// what it uses (format "json": `ripcord run` saves that).
	Source string `json:"source"`
	Format string `json:"format"` // "yaml" or "json"
	// Description and Plan are read from the source; Plan is absent when
	// the source no longer decodes (a format of an older ripcord).
	// Durations in Plan are integers of nanoseconds.
	Description string        `json:"description,omitempty"`
	Plan        *ripcord.Plan `json:"plan,omitempty"`
}

// PlanVersion is one saved version of a plan, without its source.
type PlanVersion struct {
	Name    string    `json:"name"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
}

// PlanVersionList is the answer of GET /api/v1/plans/{name}/versions,
// newest first.
type PlanVersionList struct {
	Versions []PlanVersion `json:"versions"`
}

// PlanDiff is the line diff of two versions' sources (a JSON source is
// indented first, so that it has lines).
type PlanDiff struct {
	Name  string     `json:"name"`
	From  string     `json:"from"`
	To    string     `json:"to"`
	Lines []DiffLine `json:"lines"`
	// Unified is the same diff in the unified format, three lines of
	// context around each change; "" when the sources are equal.
	Unified string `json:"unified"`
}

// DiffLine is one line of a diff: kept (" "), removed ("-") or added ("+").
type DiffLine struct {
	Op   string `json:"op"`
	Old  int    `json:"old,omitempty"` // its number in From, from 1; 0 for an added line
	New  int    `json:"new,omitempty"` // its number in To, from 1; 0 for a removed line
	Text string `json:"text"`
}

// SavedPlan is one plan of a file POSTed to /api/v1/plans.
type SavedPlan struct {
	Name    string    `json:"name"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"` // of the version saved under Hash (the earlier one when New is false)
	// New is false when the version was already saved (the hash covers
	// the plan's meaning, not its comments or layout): nothing changed.
	New bool `json:"new"`
}

// SaveResult is the answer of POST /api/v1/plans: each plan of the file,
// in the file's order.
type SaveResult struct {
	Versions []SavedPlan `json:"versions"`
}

// ValidPlan is a plan of a file that validates, with the hash it would be
// saved under.
type ValidPlan struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
}

// Validation is the answer of POST /api/v1/plans/validate.
type Validation struct {
	Valid    bool        `json:"valid"`
	Plans    []ValidPlan `json:"plans,omitempty"`    // when Valid
	Problems []Problem   `json:"problems,omitempty"` // when not: every problem, sorted by position
}

// ExecutionList is the answer of GET /api/v1/executions, newest first.
type ExecutionList struct {
	Executions []ripcord.Execution `json:"executions"`
	// More is true when the limit cut the list short.
	More bool `json:"more"`
}

// ExecutionDetail is the answer of GET /api/v1/executions/{id}: the
// execution's row and the summary folded from its whole log.
type ExecutionDetail struct {
	Execution ripcord.Execution `json:"execution"`
	Summary   engine.Summary    `json:"summary"`
}

// EventPage is a page of an execution's events, in order.
type EventPage struct {
	Events []ripcord.Event `json:"events"`
	// Next is the seq to ask for the next page after (the last event's,
	// or the request's after when the page is empty).
	Next int64 `json:"next"`
	More bool  `json:"more"` // more events follow already
}

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object,omitempty"`
	Remote string    `json:"remote,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// AuditPage is a page of the audit log, oldest first.
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	Next    int64        `json:"next"`
	More    bool         `json:"more"`
}

// Token is an API token as the token list shows it: never its secret or
// the secret's hash.
type Token struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Role    ripcord.Role `json:"role"`
	Created time.Time    `json:"created"`
	Expires time.Time    `json:"expires,omitzero"`
	Revoked time.Time    `json:"revoked,omitzero"`
	Live    bool         `json:"live"` // neither expired nor revoked, on the server's clock
}

// TokenOf is how a stored token is shown at now: without its hash.
func TokenOf(t ripcord.Token, now time.Time) Token {
	return Token{ID: t.ID, Name: t.Name, Role: t.Role, Created: t.Created, Expires: t.Expires, Revoked: t.Revoked, Live: t.Live(now)}
}

// TokenList is the answer of GET /api/v1/tokens, oldest first.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// StartRequest is the body of POST /api/v1/executions.
type StartRequest struct {
	Plan string       `json:"plan"`
	Mode ripcord.Mode `json:"mode"` // drill, recovery or failback
	// Confirm is the plan's name again: a recovery and a failback need it.
	Confirm string `json:"confirm,omitempty"`
	// CleanupAfter, for a drill, schedules its cleanup this long after it
	// ends (a Go duration, e.g. "30m").
	CleanupAfter string `json:"cleanupAfter,omitempty"`
	// AllowConcurrent starts it even while another execution of the plan
	// on the same targets is live.
	AllowConcurrent bool `json:"allowConcurrent,omitempty"`
}

// ControlRequest is the body of POST /api/v1/executions/{id}/{action}:
// the step, for retry and skip.
type ControlRequest struct {
	Step string `json:"step,omitempty"`
}

// ApprovalDecision is the body of POST /api/v1/executions/{id}/approve
// and .../reject: the approval step, and why.
type ApprovalDecision struct {
	Step    string `json:"step"`
	Comment string `json:"comment,omitempty"`
}

// Actions a person can take on an execution.
var Actions = []string{"pause", "resume", "cancel", "retry", "skip", "cleanup"}

// TargetInfo is a target as a plan's latest version defines it: target
// names belong to their plan.
type TargetInfo struct {
	Plan    string `json:"plan"`
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
	RoleARN string `json:"roleArn,omitempty"`
}

// TargetList is the answer of GET /api/v1/targets, by plan then name.
type TargetList struct {
	Targets []TargetInfo `json:"targets"`
}

// GroupInfo is a protection group as a plan's latest version defines it.
type GroupInfo struct {
	Plan     string            `json:"plan"`
	Name     string            `json:"name"`
	Target   string            `json:"target"`
	Servers  []string          `json:"servers,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

// GroupList is the answer of GET /api/v1/protection-groups, by plan then
// name.
type GroupList struct {
	Groups []GroupInfo `json:"groups"`
}

// ServerInfo is a source server of a plan's target as DRS shows it now,
// with whether it can be launched under the plan's RPO and where the plan
// uses it.
type ServerInfo struct {
	Target           string   `json:"target"`
	ID               string   `json:"id"`
	Hostname         string   `json:"hostname,omitempty"`
	OS               string   `json:"os,omitempty"`
	ReplicationState string   `json:"replicationState"`
	LagSeconds       float64  `json:"lagSeconds"`
	Ready            bool     `json:"ready"`
	Why              string   `json:"why,omitempty"` // why it is not ready
	Steps            []string `json:"steps,omitempty"`
	Groups           []string `json:"groups,omitempty"`
}

// ServerList is the answer of GET /api/v1/plans/{name}/servers, by target
// then ID.
type ServerList struct {
	Servers []ServerInfo `json:"servers"`
}

// JobLogItem is one line of a DRS job's log (DescribeJobLogItems): what
// happened, when (on DRS's clock), to which source server, and DRS's own
// error text for a failure.
type JobLogItem struct {
	At                 time.Time `json:"at"`
	Event              string    `json:"event"` // JOB_START, SNAPSHOT_START, CONVERSION_FAIL, LAUNCH_START, JOB_END, ...
	SourceServerID     string    `json:"sourceServerID,omitempty"`
	TargetInstanceID   string    `json:"targetInstanceID,omitempty"`
	ConversionServerID string    `json:"conversionServerID,omitempty"`
	RawError           string    `json:"rawError,omitempty"`
}

// JobLog is the answer of GET /api/v1/executions/{id}/jobs/{job}/log: the
// log of one of the execution's DRS jobs, oldest first, in the target
// (of the execution's plan) the job ran in.
type JobLog struct {
	Execution string       `json:"execution"`
	Job       string       `json:"job"`
	Target    string       `json:"target"`
	Items     []JobLogItem `json:"items"`
}
