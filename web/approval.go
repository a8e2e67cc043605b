package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// Approver is what a server that drives executions does for approval
// steps (a supervisor.Supervisor does): record a person's decision
// through the engine's guarded path ("approve" or "reject") and make sure
// a driver acts on it.
type Approver interface {
	Decide(ctx context.Context, id, decision, actor string, rq engine.ApprovalRequest) error
}

// maxComment bounds an approval's comment, in characters.
const maxComment = 2000

// approve and reject serve POST /api/v1/executions/{id}/approve|reject.
func (h *Handler) approve(w http.ResponseWriter, r *http.Request, id *identity) error {
	return h.decideAPI(w, r, id, "approve")
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request, id *identity) error {
	return h.decideAPI(w, r, id, "reject")
}

func (h *Handler) decideAPI(w http.ResponseWriter, r *http.Request, id *identity, decision string) error {
	execID, err := executionID(r)
	if err != nil {
		return err
	}
	var rq client.ApprovalDecision
	if err := h.decodeJSON(w, r, &rq); err != nil {
		return err
	}
	ctx := r.Context()
	if err := h.decide(ctx, id, execID, decision, engine.ApprovalRequest{Step: rq.Step, Comment: rq.Comment}); err != nil {
		return err
	}
	return h.answerExecution(ctx, w, execID)
}

// decide takes a person's decision on an approval step, as the API, the
// console and an approval link all take it: the step must be an approval
// step of the execution, and the caller one of its approvers
// (ripcord.Approval.Allows); a refusal is written to the audit log before
// it is answered (403, saying who may approve). The decision is then
// recorded through the engine and audited.
func (h *Handler) decide(ctx context.Context, id *identity, execID, decision string, rq engine.ApprovalRequest) error {
	if rq.Step == "" {
		return fail(ripcord.EINVALID, decision+" needs the step", `name the approval step: {"step": "go-ahead", "comment": "..."}`)
	}
	if !utf8.ValidString(rq.Comment) || strings.IndexByte(rq.Comment, 0) >= 0 || utf8.RuneCountInString(rq.Comment) > maxComment {
		return fail(ripcord.EINVALID, fmt.Sprintf("the comment is not text of at most %d characters", maxComment), "shorten the comment")
	}
	if _, err := h.cfg.Store.Execution(ctx, execID); err != nil {
		return notFound(err, execID)
	}
	var ap ripcord.Approval
	var kind ripcord.StepKind
	var steps []string
	err := h.folds.read(ctx, h.cfg.Store, execID, func(s *engine.State) {
		steps = s.Order
		if st := s.Steps[rq.Step]; st != nil {
			kind = st.Spec.Kind
			if st.Spec.Approval != nil {
				ap = *st.Spec.Approval
			}
		}
	})
	if err != nil {
		return notFound(err, execID)
	}
	switch {
	case kind == "":
		return fail(ripcord.ENOTFOUND, fmt.Sprintf("execution %s has no step %q", execID, rq.Step), fmt.Sprintf("its steps are: %s", strings.Join(steps, ", ")))
	case kind != ripcord.StepApproval:
		return fail(ripcord.ECONFLICT, fmt.Sprintf("step %s is a %s step; only an approval step is approved or rejected", rq.Step, kind), "")
	}
	detail := "step " + rq.Step
	if rq.Via != "" {
		detail += ", " + rq.Via
	}
	if !ap.Allows(id.token.Name, id.token.Role) {
		msg := fmt.Sprintf("token %s (role %s) may not %s step %s of execution %s", id.actor, id.token.Role, decision, rq.Step, execID)
		if err := h.recordAudit(ctx, id, "execution."+decision+".refused", execID, detail+": not an approver"); err != nil {
			return err
		}
		return fail(client.EFORBIDDEN, msg, "the step may be approved or rejected by "+ap.Approvers())
	}
	ex, err := h.executions()
	if err != nil {
		return err
	}
	dec, ok := ex.(Approver)
	if !ok {
		return fail(ripcord.EUNAVAILABLE, "this server does not take approvals", "approve through ripcord serve")
	}
	if err := dec.Decide(ctx, execID, decision, id.actor, rq); err != nil {
		return err
	}
	if rq.Comment != "" {
		detail += ": " + rq.Comment
	}
	return h.recordAudit(ctx, id, "execution."+decision, execID, detail)
}
