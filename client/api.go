package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Health asks /healthz whether the server answers.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.call(ctx, request{method: http.MethodGet, path: "healthz"}, nil)
	return err
}

// Ready asks /readyz whether the server can serve: its store answers. A
// server that is not ready is EUNAVAILABLE.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.call(ctx, request{method: http.MethodGet, path: "readyz"}, nil)
	return err
}

// OpenAPI returns the server's OpenAPI 3 document.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var doc json.RawMessage
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/openapi.json"}, &doc)
	return doc, err
}

// Plans lists every plan by its latest version, by name.
func (c *Client) Plans(ctx context.Context) ([]PlanSummary, error) {
	var out PlanList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/plans"}, &out)
	return out.Plans, err
}

// Plan returns the latest version of the plan named name.
func (c *Client) Plan(ctx context.Context, name string) (Plan, error) {
	return c.PlanVersion(ctx, name, "")
}

// PlanVersion returns the version hash of the plan named name; "" is the
// latest.
func (c *Client) PlanVersion(ctx context.Context, name, hash string) (Plan, error) {
	var q url.Values
	if hash != "" {
		q = url.Values{"version": {hash}}
	}
	var out Plan
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/plans/" + seg(name), query: q}, &out)
	return out, err
}

// PlanVersions lists the saved versions of the plan named name, newest
// first.
func (c *Client) PlanVersions(ctx context.Context, name string) ([]PlanVersion, error) {
	var out PlanVersionList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/plans/" + seg(name) + "/versions"}, &out)
	return out.Versions, err
}

// PlanDiff returns the line diff between two versions of the plan named
// name.
func (c *Client) PlanDiff(ctx context.Context, name, from, to string) (PlanDiff, error) {
	var out PlanDiff
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/plans/" + seg(name) + "/diff",
		query: url.Values{"from": {from}, "to": {to}}}, &out)
	return out, err
}

// SavePlans saves each plan of a plan file (YAML) as a new version (admin).
// filename names the file in the positions of problems ("" is
// "plan.yaml"). A file that does not validate is EINVALIDPLAN, with every
// problem in the message, one per line; [Client.ValidatePlans] returns
// them one by one.
func (c *Client) SavePlans(ctx context.Context, filename string, yaml []byte) (SaveResult, error) {
	var out SaveResult
	_, err := c.call(ctx, request{method: http.MethodPost, path: "api/v1/plans", query: fileQuery(filename),
		body: nonNil(yaml), contentType: "application/yaml", ok: []int{http.StatusOK, http.StatusCreated}}, &out)
	return out, err
}

// ValidatePlans validates a plan file (YAML) without saving it. A file
// that does not validate is not an error: Valid is false and Problems
// says why.
func (c *Client) ValidatePlans(ctx context.Context, filename string, yaml []byte) (Validation, error) {
	var out Validation
	_, err := c.call(ctx, request{method: http.MethodPost, path: "api/v1/plans/validate", query: fileQuery(filename),
		body: nonNil(yaml), contentType: "application/yaml"}, &out)
	return out, err
}

func fileQuery(filename string) url.Values {
	if filename == "" {
		return nil
	}
	return url.Values{"file": {filename}}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ExecutionFilter selects executions. Zero fields select everything.
type ExecutionFilter struct {
	Plan  string
	State ripcord.ExecState
	Mode  ripcord.Mode
	Since time.Time // started at or after
	Until time.Time // started before
	Limit int       // 0: the server's default (100); at most 1000
}

// Executions lists the executions f selects, newest first. more is true
// when the limit cut the list short.
func (c *Client) Executions(ctx context.Context, f ExecutionFilter) (list []ripcord.Execution, more bool, err error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("plan", f.Plan)
	set("state", string(f.State))
	set("mode", string(f.Mode))
	if !f.Since.IsZero() {
		set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.Limit != 0 {
		set("limit", strconv.Itoa(f.Limit))
	}
	var out ExecutionList
	_, err = c.call(ctx, request{method: http.MethodGet, path: "api/v1/executions", query: q}, &out)
	return out.Executions, out.More, err
}

// Execution returns an execution's row and the summary folded from its
// log.
func (c *Client) Execution(ctx context.Context, id string) (ExecutionDetail, error) {
	var out ExecutionDetail
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/executions/" + seg(id)}, &out)
	return out, err
}

// Events returns a page of an execution's events: those after seq after,
// at most limit (0: the server's default, 500; at most 1000).
func (c *Client) Events(ctx context.Context, id string, after int64, limit int) (EventPage, error) {
	q := url.Values{}
	if after != 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out EventPage
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/executions/" + seg(id) + "/events", query: q}, &out)
	return out, err
}

// Audit returns a page of the audit log (admin): the entries after seq
// after, oldest first, at most limit (0: the server's default, 500; at
// most 1000).
func (c *Client) Audit(ctx context.Context, after int64, limit int) (AuditPage, error) {
	q := url.Values{}
	if after != 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out AuditPage
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/audit", query: q}, &out)
	return out, err
}

// Tokens lists the API tokens (admin), oldest first, without their
// secrets.
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out TokenList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/tokens"}, &out)
	return out.Tokens, err
}

// Start starts an execution of a saved plan (POST /api/v1/executions) and
// answers it as recorded; the server drives it.
func (c *Client) Start(ctx context.Context, rq StartRequest) (ripcord.Execution, error) {
	var x ripcord.Execution
	body, err := json.Marshal(rq)
	if err != nil {
		return x, err
	}
	_, err = c.call(ctx, request{method: http.MethodPost, path: "api/v1/executions", body: body, contentType: "application/json",
		ok: []int{http.StatusCreated}}, &x)
	return x, err
}

// Control takes an action (one of Actions) on an execution; step names the
// step for retry and skip. It answers the execution as it is then.
func (c *Client) Control(ctx context.Context, id, action, step string) (ripcord.Execution, error) {
	var x ripcord.Execution
	body, err := json.Marshal(ControlRequest{Step: step})
	if err != nil {
		return x, err
	}
	_, err = c.call(ctx, request{method: http.MethodPost, path: "api/v1/executions/" + seg(id) + "/" + seg(action), body: body,
		contentType: "application/json"}, &x)
	return x, err
}

// Decide approves an approval step of execution id (decision "approve"),
// or rejects it ("reject"), with a comment.
func (c *Client) Decide(ctx context.Context, id, decision, step, comment string) (ripcord.Execution, error) {
	var x ripcord.Execution
	body, err := json.Marshal(ApprovalDecision{Step: step, Comment: comment})
	if err != nil {
		return x, err
	}
	_, err = c.call(ctx, request{method: http.MethodPost, path: "api/v1/executions/" + seg(id) + "/" + seg(decision), body: body,
		contentType: "application/json"}, &x)
	return x, err
}

// Targets lists every plan's targets (latest versions).
func (c *Client) Targets(ctx context.Context) ([]TargetInfo, error) {
	var out TargetList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/targets"}, &out)
	return out.Targets, err
}

// ProtectionGroups lists every plan's protection groups (latest versions).
func (c *Client) ProtectionGroups(ctx context.Context) ([]GroupInfo, error) {
	var out GroupList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/protection-groups"}, &out)
	return out.Groups, err
}

// PlanServers lists the source servers of a plan's targets as DRS shows
// them now, with their readiness under the plan's RPO.
func (c *Client) PlanServers(ctx context.Context, plan string) ([]ServerInfo, error) {
	var out ServerList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/plans/" + seg(plan) + "/servers"}, &out)
	return out.Servers, err
}

// JobLog returns the log of DRS job job, one of execution id's jobs, oldest
// first. While the job runs, the server may answer from a copy up to 10
// seconds old; a finished job's log is read from DRS once.
func (c *Client) JobLog(ctx context.Context, id, job string) (JobLog, error) {
	var out JobLog
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/executions/" + seg(id) + "/jobs/" + seg(job) + "/log"}, &out)
	return out, err
}
