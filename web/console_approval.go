package web

// Approvals in the console: the page an approval link opens
// (/console/approve?link=...), and the approve and reject forms of an
// execution's page. Both decide through h.decide (approval.go), the path
// the API takes: the step's approvers only, a refusal audited.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// Via of decisions taken in the console.
const (
	viaConsole = "console"
	viaLink    = "approval link"
)

// signinURL is the sign-in form that comes back to r's page afterwards.
func signinURL(r *http.Request) string {
	back := r.URL.RequestURI()
	if back == "/console" {
		return "/console/signin"
	}
	return "/console/signin?next=" + url.QueryEscape(back)
}

// nextPage is where a sign-in goes on to: next when it is a console page
// of this server (a path under /console, not the sign-in form), else the
// overview, so that a crafted link cannot send a person elsewhere.
func nextPage(next string) string {
	u, err := url.Parse(next)
	switch {
	case next == "", err != nil, u.Scheme != "", u.Host != "", u.User != nil, u.Opaque != "",
		strings.HasPrefix(next, "//"), strings.ContainsAny(next, "\\\r\n"),
		u.Path != "/console" && !strings.HasPrefix(u.Path, "/console/"), strings.HasPrefix(u.Path, "/console/signin"):
		return "/console"
	}
	return next
}

// approvalView is an approval step's request as a page shows it: what it
// asks, who may decide, and whether the person looking may.
type approvalView struct {
	Seq       int64
	Message   string
	Approvers string
	MayDecide bool
	Requested time.Time
	Deadline  time.Time
}

// approveView is the page of an approval link.
type approveView struct {
	ID, Step, Plan string
	Mode           ripcord.Mode
	Link           string // the link's token, posted back with the decision
	Decision       string // what the notification's link asked for: approve or reject
	Approval       approvalView
	Open           bool   // the link's request waits for a decision
	Closed         string // else why it takes none
	CSRF           string
}

// approvalOf is the approval view of step st's open request for a person
// with identity id.
func approvalOf(st *engine.StepState, id *identity) *approvalView {
	a := st.Approval
	if st.Status != "running" || !a.Open() {
		return nil
	}
	ap := ripcord.Approval{}
	if st.Spec.Approval != nil {
		ap = *st.Spec.Approval
	}
	return &approvalView{Seq: a.Seq, Message: a.Request.Message, Approvers: ap.Approvers(),
		MayDecide: ap.Allows(id.token.Name, id.token.Role), Requested: a.Requested, Deadline: a.Request.Deadline}
}

// parseLink checks an approval link's token with the store's server
// secret.
func (h *Handler) parseLink(r *http.Request, token string) (ripcord.ApprovalLink, error) {
	if token == "" {
		return ripcord.ApprovalLink{}, fail(ripcord.EINVALID, "this page needs an approval link",
			"open the link from the notification as it was sent, or approve in the execution's page of the console")
	}
	secret, err := h.cfg.Store.ServerSecret(r.Context())
	if err != nil {
		return ripcord.ApprovalLink{}, fmt.Errorf("approval link: %w", err)
	}
	return ripcord.ParseApprovalLink(token, secret)
}

// approvePage serves GET /console/approve?link=...: what the link's step
// asks and, for an approver while the link's request is open, the approve
// and reject forms. It changes nothing: a link never decides by itself.
func (h *Handler) approvePage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	q := r.URL.Query()
	link, err := h.parseLink(r, q.Get("link"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	x, err := h.cfg.Store.Execution(ctx, link.Execution)
	if err != nil {
		return notFound(err, link.Execution)
	}
	v := approveView{ID: link.Execution, Step: link.Step, Plan: x.PlanName, Mode: x.Mode, Link: q.Get("link"), CSRF: s.csrf,
		Decision: "approve"}
	if q.Get("decision") == "reject" {
		v.Decision = "reject"
	}
	err = h.folds.read(ctx, h.cfg.Store, link.Execution, func(st *engine.State) {
		ss := st.Steps[link.Step]
		if ss == nil || ss.Spec.Approval == nil {
			v.Closed = fmt.Sprintf("execution %s has no approval step %s", link.Execution, link.Step)
			return
		}
		v.Approval = approvalView{Message: ss.Spec.Approval.Message, Approvers: ss.Spec.Approval.Approvers(),
			MayDecide: ss.Spec.Approval.Allows(id.token.Name, id.token.Role)}
		a := ss.Approval
		switch {
		case a == nil || a.Seq != link.Seq:
			v.Closed = fmt.Sprintf("this link is for an earlier wait of step %s, which has been decided; the execution's page shows what waits now", link.Step)
		case a.Decision == engine.ApprovalTimedOut:
			v.Closed = fmt.Sprintf("step %s timed out at %s; nobody can decide it any more", link.Step, ts(a.At))
		case a.Decision != "":
			v.Closed = fmt.Sprintf("step %s was %s already by %s at %s", link.Step, a.Decision, a.By, ts(a.At))
			if a.Comment != "" {
				v.Closed += ": " + strconv.Quote(a.Comment)
			}
		case st.Final():
			v.Closed = fmt.Sprintf("the execution has ended (%s)", st.State)
		default:
			if av := approvalOf(ss, id); av != nil {
				v.Approval, v.Open = *av, true
			}
		}
	})
	if err != nil {
		return notFound(err, link.Execution)
	}
	h.render(w, r, http.StatusOK, "approve", "", h.data(id, s, "Approve step "+link.Step, "executions", v))
	return nil
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// approveByLink serves POST /console/approve (a session and its CSRF
// token checked by consolePost): the decision on the link's step, bound
// to the link's request, so that it works once and never for another
// wait.
func (h *Handler) approveByLink(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	link, err := h.parseLink(r, r.PostForm.Get("link"))
	if err != nil {
		return err
	}
	decision, err := formDecision(r.PostForm.Get("decision"))
	if err != nil {
		return err
	}
	rq := engine.ApprovalRequest{Step: link.Step, Comment: r.PostForm.Get("comment"), Via: viaLink, Seq: link.Seq}
	if err := h.decide(r.Context(), id, link.Execution, decision, rq); err != nil {
		return err
	}
	h.setFlash(s, fmt.Sprintf("%s of step %s recorded by %s.", decision, link.Step, id.actor))
	http.Redirect(w, r, "/console/executions/"+link.Execution, http.StatusSeeOther)
	return nil
}

// formDecision checks a form's decision.
func formDecision(d string) (string, error) {
	if d != "approve" && d != "reject" {
		return "", fail(ripcord.EINVALID, fmt.Sprintf("%q is not a decision", d), "choose approve or reject")
	}
	return d, nil
}

// consoleDecide takes an approve or reject from an execution's page: the
// request it was shown for (its seq) is the one decided.
func (h *Handler) consoleDecide(w http.ResponseWriter, r *http.Request, id *identity, s *session, execID, decision string) error {
	seq, err := strconv.ParseInt(r.PostForm.Get("seq"), 10, 64)
	if err != nil || seq <= 0 {
		return fail(ripcord.EINVALID, "the form does not name the approval request", "reload the page and use its form again")
	}
	rq := engine.ApprovalRequest{Step: r.PostForm.Get("step"), Comment: r.PostForm.Get("comment"), Via: viaConsole, Seq: seq}
	page := "/console/executions/" + execID
	if err := h.decide(r.Context(), id, execID, decision, rq); err != nil {
		if ripcord.ErrorCode(err) != ripcord.ECONFLICT {
			return err
		}
		h.setFlash(s, fmt.Sprintf("%s refused: %s", decision, errMessage(err)))
		http.Redirect(w, r, page, http.StatusSeeOther)
		return nil
	}
	h.setFlash(s, fmt.Sprintf("%s of step %s recorded by %s.", decision, rq.Step, id.actor))
	http.Redirect(w, r, page, http.StatusSeeOther)
	return nil
}
