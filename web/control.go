package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// Executions is what the API asks of the process that drives executions:
// a supervisor.Supervisor in ripcord serve.
type Executions interface {
	// Begin records a new execution (engine.Begin) and drives it.
	Begin(ctx context.Context, req engine.BeginRequest) (engine.Begun, error)
	// Control records a person's action (pause, resume, cancel, retry,
	// skip, cleanup) and makes sure a driver carries it out.
	Control(ctx context.Context, id, action, actor, step string) error
}

// modeRole is the role that may start or control an execution of mode.
func modeRole(mode ripcord.Mode) ripcord.Role {
	if mode == ripcord.ModeRecovery || mode == ripcord.ModeFailback {
		return ripcord.RoleRecovery
	}
	return ripcord.RoleOperator
}

func (h *Handler) executions() (Executions, error) {
	if h.cfg.Executions == nil {
		return nil, fail(ripcord.EUNAVAILABLE, "this server does not drive executions", "start executions through ripcord serve")
	}
	return h.cfg.Executions, nil
}

// startExecution starts an execution of the latest saved version of a
// plan (begin) and answers it, 201.
func (h *Handler) startExecution(w http.ResponseWriter, r *http.Request, id *identity) error {
	var rq client.StartRequest
	if err := h.decodeJSON(w, r, &rq); err != nil {
		return err
	}
	x, err := h.begin(r.Context(), id, rq, "")
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/executions/"+x.ID)
	writeJSON(w, http.StatusCreated, x)
	return nil
}

// begin starts an execution of the latest saved version of a plan, as the
// API and the console both start one: a drill needs role operator, a
// recovery role recovery and the plan's name again in confirm. It records
// the start in the audit log (via says from where, if not the API) and
// returns the execution as recorded.
func (h *Handler) begin(ctx context.Context, id *identity, rq client.StartRequest, via string) (ripcord.Execution, error) {
	var none ripcord.Execution
	if !planNameRe.MatchString(rq.Plan) {
		return none, fail(ripcord.EINVALID, fmt.Sprintf("%q is not a plan name", rq.Plan), "name a saved plan: GET /api/v1/plans lists them")
	}
	if !rq.Mode.Valid() {
		return none, fail(ripcord.EINVALID, fmt.Sprintf("mode %q is not drill, recovery or failback", rq.Mode), `give "mode": "drill", "recovery" or "failback"`)
	}
	if err := authorize(id, modeRole(rq.Mode)); err != nil {
		return none, err
	}
	if rq.Mode == ripcord.ModeRecovery && rq.Confirm != rq.Plan {
		return none, fail(ripcord.EINVALID, fmt.Sprintf("a recovery of plan %s needs \"confirm\": %q", rq.Plan, rq.Plan),
			"a recovery launches production instances; name the plan again to confirm")
	}
	if rq.Mode == ripcord.ModeFailback && rq.Confirm != rq.Plan {
		return none, fail(ripcord.EINVALID, fmt.Sprintf("a failback of plan %s needs \"confirm\": %q", rq.Plan, rq.Plan),
			"a failback converts and reboots the machines on the source side; name the plan again to confirm")
	}
	var cleanup time.Duration
	if rq.CleanupAfter != "" {
		d, err := time.ParseDuration(rq.CleanupAfter)
		if err != nil || d < 0 || rq.Mode != ripcord.ModeDrill {
			return none, fail(ripcord.EINVALID, fmt.Sprintf("invalid cleanupAfter %q", rq.CleanupAfter),
				`a drill's cleanupAfter is a duration such as "30m"; recovery instances are never cleaned up`)
		}
		cleanup = d
	}
	ex, err := h.executions()
	if err != nil {
		return none, err
	}
	versions, err := h.cfg.Store.ListPlanVersions(ctx, rq.Plan)
	if err != nil {
		return none, err
	}
	if len(versions) == 0 {
		return none, fail(ripcord.ENOTFOUND, fmt.Sprintf("no plan named %q is saved", rq.Plan), "save it first: POST /api/v1/plans")
	}
	f, err := plan.Decode(rq.Plan+".yaml", versions[0].Source)
	if err != nil {
		return none, fail(ripcord.ECONFLICT, fmt.Sprintf("the saved version %s of plan %s does not decode: %v", versions[0].Hash, rq.Plan, err),
			"save the plan file again: POST /api/v1/plans")
	}
	b, err := ex.Begin(ctx, engine.BeginRequest{File: f, Plan: rq.Plan, Mode: rq.Mode, AllowConcurrent: rq.AllowConcurrent,
		CleanupAfter: cleanup, Actor: id.actor})
	if err != nil {
		return none, err
	}
	detail := []string{fmt.Sprintf("plan %s version %s, %s", rq.Plan, b.Spec.PlanHash, rq.Mode)}
	detail = append(detail, b.Warnings...)
	if via != "" {
		detail = append(detail, via)
	}
	if err := h.recordAudit(ctx, id, "execution.start", b.ID, strings.Join(detail, "; ")); err != nil {
		return none, err
	}
	return h.cfg.Store.Execution(ctx, b.ID)
}

// checkAction checks an action on an execution before it is taken, as the
// API and the console both take it: a known action, a step exactly for
// retry and skip, an execution that exists, and the caller's role for its
// mode (recovery for a recovery). It returns what takes it.
func (h *Handler) checkAction(ctx context.Context, id *identity, execID, action, step string) (Executions, error) {
	if !slices.Contains(client.Actions, action) {
		return nil, fail(ripcord.ENOTFOUND, fmt.Sprintf("no action %q", action), "actions are "+strings.Join(client.Actions, ", "))
	}
	if (action == "retry" || action == "skip") != (step != "") {
		return nil, fail(ripcord.EINVALID, fmt.Sprintf("%s takes a step: %v", action, action == "retry" || action == "skip"),
			`retry and skip name the step ({"step": "app"}); the other actions take none`)
	}
	x, err := h.cfg.Store.Execution(ctx, execID)
	if err != nil {
		return nil, notFound(err, execID)
	}
	if err := authorize(id, modeRole(x.Mode)); err != nil {
		return nil, err
	}
	return h.executions()
}

// auditAction writes an action taken to the audit log; via says from
// where, if not the API.
func (h *Handler) auditAction(ctx context.Context, id *identity, execID, action, step, via string) error {
	var detail []string
	if step != "" {
		detail = append(detail, "step "+step)
	}
	if via != "" {
		detail = append(detail, via)
	}
	return h.recordAudit(ctx, id, "execution."+action, execID, strings.Join(detail, ", "))
}

// control takes a person's action on an execution: a drill's need role
// operator, a recovery's role recovery.
func (h *Handler) control(w http.ResponseWriter, r *http.Request, id *identity) error {
	execID, err := executionID(r)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	var rq client.ControlRequest
	if r.ContentLength != 0 {
		if err := h.decodeJSON(w, r, &rq); err != nil {
			return err
		}
	}
	ctx := r.Context()
	ex, err := h.checkAction(ctx, id, execID, action, rq.Step)
	if err != nil {
		return err
	}
	if err := ex.Control(ctx, execID, action, id.actor, rq.Step); err != nil {
		return err
	}
	if err := h.auditAction(ctx, id, execID, action, rq.Step, ""); err != nil {
		return err
	}
	return h.answerExecution(ctx, w, execID)
}

// answerExecution answers 200 with the execution as the store has it
// now, after an action on it.
func (h *Handler) answerExecution(ctx context.Context, w http.ResponseWriter, execID string) error {
	x, err := h.cfg.Store.Execution(ctx, execID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}
