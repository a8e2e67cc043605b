package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// execRow is an execution as a list shows it.
type execRow struct {
	ripcord.Execution
	Launched, Servers int
	Verdict           string
}

func execRows(list []ripcord.Execution) []execRow {
	out := make([]execRow, len(list))
	for i, x := range list {
		out[i] = execRow{Execution: x, Verdict: string(x.State)}
		if sum, err := engine.DecodeSummary(x.Summary); err == nil {
			out[i].Launched, out[i].Servers = sum.Launched, sum.Servers
			if sum.Verdict != "" {
				out[i].Verdict = sum.Verdict
			}
		}
	}
	return out
}

// planRows is every plan by its latest version, by name.
func (h *Handler) planRows(r *http.Request) ([]client.PlanSummary, error) {
	vs, err := h.cfg.Store.ListPlanVersions(r.Context(), "")
	if err != nil {
		return nil, err
	}
	byName := map[string]*client.PlanSummary{}
	for _, v := range vs { // newest first
		if p := byName[v.Name]; p != nil {
			p.Versions++
			continue
		}
		byName[v.Name] = &client.PlanSummary{Name: v.Name, Hash: v.Hash, Created: v.Created, Versions: 1}
	}
	out := []client.PlanSummary{}
	for _, p := range byName {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

type overviewView struct {
	Live   []execRow
	Recent []execRow
	Plans  []planRow // with their readiness (console_readiness.go)
	// Targets are each plan's targets with their servers' readiness now;
	// TargetsNote says why DRS shows nothing.
	Targets     []targetRow
	TargetsNote string
}

func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	ctx := r.Context()
	var v overviewView
	for _, st := range []ripcord.ExecState{ripcord.ExecRunning, ripcord.ExecPaused} {
		list, err := h.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{State: st, Limit: 100})
		if err != nil {
			return err
		}
		v.Live = append(v.Live, execRows(list)...)
	}
	recent, err := h.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{Limit: 10})
	if err != nil {
		return err
	}
	v.Recent = execRows(recent)
	if v.Plans, err = h.planRowsWithReadiness(r); err != nil {
		return err
	}
	inv, note, err := h.inventoryOf(ctx, "")
	if err != nil {
		return err
	}
	v.Targets, v.TargetsNote = targetRows(inv), note
	h.render(w, r, http.StatusOK, "overview", "", h.data(id, s, "Overview", "overview", v))
	return nil
}

type executionsView struct {
	State string
	List  []execRow
}

func (h *Handler) executionsPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	f := ripcord.ExecutionFilter{State: ripcord.ExecState(r.URL.Query().Get("state")), Limit: 200}
	if f.State != "" && !f.State.Valid() {
		return fail(ripcord.EINVALID, fmt.Sprintf("%q is not an execution state", f.State), "states are running, paused, succeeded, failed and cancelled")
	}
	list, err := h.cfg.Store.ListExecutions(r.Context(), f)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "executions", "", h.data(id, s, "Executions", "executions", executionsView{State: string(f.State), List: execRows(list)}))
	return nil
}

// execView is an execution's page: everything in it is folded from the
// execution's log when the page (or its live fragment) is rendered.
type execView struct {
	ID, Plan, PlanHash string
	Mode               ripcord.Mode
	Recovery           bool
	State              ripcord.ExecState
	Final              bool
	Sum                engine.Summary
	Started, Ended     time.Time
	StartedBy          string
	Steps              []stepView
	Gantt              gantt
	Controls           controlsView
	Actions            []eventView // who did what
	Events             []eventView // the latest events
	MoreEvents         int         // older events not shown
	LastSeq            int64
	CSRF               string
	// Jobs are the execution's DRS jobs with their logs; JobsNote says why
	// none is shown.
	Jobs     []jobLogView
	JobsNote string
	// Deliveries are the notifications about the execution
	// (console_readiness.go); DeliveriesNote says why none is shown.
	Deliveries     []deliveryView
	DeliveriesNote string
}

type stepView struct {
	Name, Kind, Status, Reason string
	Started, Ended             time.Time
	SkippedBy                  string
	Servers                    []serverView
	Retry, Skip                bool
	Approval                   *approvalView // an approval step's open request (console_approval.go)
}

type serverView struct {
	ID, Target, Status, JobID, InstanceID, Reason string
	Optional                                      bool
	Attempts                                      int
}

// controlsView is which controls the page offers: those the session's
// role allows and the execution's state admits.
type controlsView struct {
	Allowed                         bool
	Role                            ripcord.Role // the session's
	Need                            ripcord.Role
	Pause, Resume, Cancel, Cleanup  bool
	Any                             bool
	CleanupState, CleanupDue, Drill string
}

type eventView struct {
	Seq    int64
	At     time.Time
	Offset string
	Actor  string
	Type   string
	Text   string
}

// maxShownEvents is how many of the latest events the page lists.
const maxShownEvents = 200

// controlEvents are the events a person causes: the page's "who did
// what".
var controlEvents = []string{engine.EvExecutionStarted, engine.EvExecutionPaused, engine.EvExecutionResumed,
	engine.EvCancelRequested, engine.EvStepSkipped, engine.EvRetryRequested, engine.EvCleanupRequested, engine.EvCleanupScheduled,
	engine.EvApprovalGranted, engine.EvApprovalRejected}

// executionView folds execution id's log into its page.
func (h *Handler) executionView(r *http.Request, idn *identity, s *session) (*execView, error) {
	id, err := executionID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	x, err := h.cfg.Store.Execution(ctx, id)
	if err != nil {
		return nil, notFound(err, id)
	}
	var all []ripcord.Event
	var after int64
	for {
		evs, err := h.cfg.Store.Events(ctx, id, after, maxPage)
		if err != nil {
			return nil, notFound(err, id)
		}
		all = append(all, evs...)
		if len(evs) < maxPage {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	if len(all) == 0 {
		return nil, fail(ripcord.ENOTFOUND, fmt.Sprintf("execution %q has no events yet", id), "reload in a moment")
	}
	st, err := engine.Fold(id, all)
	if err != nil {
		return nil, err
	}
	now := h.now()
	v := &execView{ID: id, Plan: x.PlanName, PlanHash: x.PlanHash, Mode: x.Mode, Recovery: x.Mode == ripcord.ModeRecovery,
		State: st.State, Final: st.Final(), Sum: st.Summarize(0), Started: st.Started, Ended: st.Finished,
		StartedBy: x.Actor, LastSeq: st.LastSeq, CSRF: s.csrf}
	need := modeRole(x.Mode)
	c := controlsView{Allowed: idn.token.Role.Allows(need), Role: idn.token.Role, Need: need, CleanupState: v.Sum.Cleanup}
	if !v.Sum.CleanupDue.IsZero() {
		c.CleanupDue = v.Sum.CleanupDue.UTC().Format(time.RFC3339)
	}
	if c.Allowed {
		c.Pause = !st.Final() && !st.Paused
		c.Resume = !st.Final() && st.Paused
		c.Cancel = !st.Final() && !st.Cancel
		c.Cleanup = x.Mode == ripcord.ModeDrill && st.Final() && !st.Cleanup.Done && !st.Cleanup.Requested
	}
	for _, name := range st.Order {
		ss := st.Steps[name]
		sv := stepView{Name: name, Kind: string(ss.Spec.Kind), Status: ss.Status, Reason: ss.Reason, Started: ss.Started, Ended: ss.Ended}
		if ss.Manual {
			sv.SkippedBy = ss.SkippedBy
		}
		if c.Allowed && !st.Final() && ss.Status == "failed" {
			sv.Retry, sv.Skip = true, true
		}
		if !st.Final() {
			sv.Approval = approvalOf(ss, idn)
		}
		for _, sp := range ss.Spec.Servers {
			srv := ss.Servers[sp.ID]
			if srv == nil {
				continue
			}
			sv.Servers = append(sv.Servers, serverView{ID: srv.ID, Target: srv.Target, Status: srv.Status, JobID: srv.JobID,
				InstanceID: srv.InstanceID, Reason: srv.Reason, Optional: srv.Optional, Attempts: len(srv.History)})
		}
		c.Any = c.Any || sv.Retry
		v.Steps = append(v.Steps, sv)
	}
	c.Any = c.Any || c.Pause || c.Resume || c.Cancel || c.Cleanup
	v.Controls = c
	v.Gantt = buildGantt(st, now, all[len(all)-1].At)
	v.Jobs, v.JobsNote = h.jobLogViews(ctx, st)
	v.Deliveries, v.DeliveriesNote = h.deliveryViews(ctx, id)
	for i, ev := range all {
		ev := eventView{Seq: ev.Seq, At: ev.At, Offset: offset(ev.At.Sub(st.Started)), Actor: ev.Actor, Type: ev.Type, Text: consoleEventText(all[i])}
		if slices.Contains(controlEvents, ev.Type) {
			v.Actions = append(v.Actions, ev)
		}
	}
	from := max(0, len(all)-maxShownEvents)
	v.MoreEvents = from
	for i := len(all) - 1; i >= from; i-- { // newest first
		ev := all[i]
		v.Events = append(v.Events, eventView{Seq: ev.Seq, At: ev.At, Offset: offset(ev.At.Sub(st.Started)), Actor: ev.Actor, Type: ev.Type, Text: consoleEventText(ev)})
	}
	return v, nil
}

func (h *Handler) executionPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	v, err := h.executionView(r, id, s)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "execution", "", h.data(id, s, "Execution "+v.ID, "executions", v))
	return nil
}

// executionFragment is the live part of an execution's page: the page's
// script fetches it again on each event of the stream and swaps it in.
func (h *Handler) executionFragment(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	v, err := h.executionView(r, id, s)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "execution", "live", v)
	return nil
}

// consoleControl takes a control from an execution's page, as the API's
// control endpoint does: the same role check (recovery for a recovery),
// the same Executions interface, the session's identity as the actor.
func (h *Handler) consoleControl(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	execID, err := executionID(r)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if action == "approve" || action == "reject" {
		return h.consoleDecide(w, r, id, s, execID, action) // console_approval.go
	}
	step := r.PostForm.Get("step")
	ctx := r.Context()
	ex, err := h.checkAction(ctx, id, execID, action, step)
	if err != nil {
		return err
	}
	page := "/console/executions/" + execID
	if err := ex.Control(ctx, execID, action, id.actor, step); err != nil {
		if code := ripcord.ErrorCode(err); code == ripcord.ECONFLICT || code == ripcord.EINVALID {
			// The state moved on (the page was stale): say so on the page.
			h.setFlash(s, fmt.Sprintf("%s refused: %s", action, errMessage(err)))
			http.Redirect(w, r, page, http.StatusSeeOther)
			return nil
		}
		return err
	}
	if err := h.auditAction(ctx, id, execID, action, step, "from the console"); err != nil {
		return err
	}
	what := action
	if step != "" {
		what += " of step " + step
	}
	h.setFlash(s, what+" recorded by "+id.actor+".")
	http.Redirect(w, r, page, http.StatusSeeOther)
	return nil
}

// consoleStart starts an execution of a plan from its page, as the API's
// start endpoint does (begin): a drill needs role operator; a recovery
// needs role recovery and the plan's name typed again. A refusal the user
// can act on (a wrong confirmation, another execution of the plan,
// servers not ready) shows on the plan's page.
func (h *Handler) consoleStart(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	rq := client.StartRequest{Plan: name, Mode: ripcord.Mode(r.PostForm.Get("mode")), Confirm: r.PostForm.Get("confirm"),
		CleanupAfter: strings.TrimSpace(r.PostForm.Get("cleanupAfter"))}
	x, err := h.begin(r.Context(), id, rq, "from the console")
	if err != nil {
		switch ripcord.ErrorCode(err) {
		case ripcord.EINVALID, ripcord.ECONFLICT, ripcord.EUNAVAILABLE:
			h.setFlash(s, "not started: "+errMessage(err))
			http.Redirect(w, r, "/console/plans/"+name, http.StatusSeeOther)
			return nil
		}
		return err
	}
	h.setFlash(s, fmt.Sprintf("%s of plan %s started by %s.", x.Mode, name, id.actor))
	http.Redirect(w, r, "/console/executions/"+x.ID, http.StatusSeeOther)
	return nil
}

type plansView struct{ Plans []planRow }

func (h *Handler) plansPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	plans, err := h.planRowsWithReadiness(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "plans", "", h.data(id, s, "Plans", "plans", plansView{Plans: plans}))
	return nil
}

type planView struct {
	client.Plan
	Latest   bool
	Versions []ripcord.PlanVersion
	Graph    graph
	Runs     []execRow
	// Servers are the latest version's servers as DRS shows them now;
	// ServersError says why they could not be read.
	Servers      []client.ServerInfo
	ServersError string
	// Readiness is the latest version's readiness check and staleness.
	Readiness *readinessView
}

func (h *Handler) planPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	vs, err := h.versions(r, name)
	if err != nil {
		return err
	}
	v := vs[0]
	if q := r.URL.Query().Get("version"); q != "" {
		hash, err := planHash("version", q)
		if err != nil {
			return err
		}
		if v, err = h.version(r, name, hash); err != nil {
			return err
		}
	}
	pv := planView{Plan: planOf(v), Latest: v.Hash == vs[0].Hash, Versions: vs}
	if pv.Plan.Plan != nil {
		pv.Graph = buildGraph(pv.Plan.Plan.Steps)
	}
	runs, err := h.cfg.Store.ListExecutions(r.Context(), ripcord.ExecutionFilter{PlanName: name, Limit: 20})
	if err != nil {
		return err
	}
	pv.Runs = execRows(runs)
	if pv.Latest {
		rd := h.readinessOf(r.Context(), name, v.Hash)
		pv.Readiness = &rd
	}
	if pv.Latest && h.cfg.Inventory != nil {
		if pv.Servers, err = h.serversOf(r.Context(), name); err != nil {
			pv.ServersError = errMessage(err)
		}
	}
	h.render(w, r, http.StatusOK, "plan", "", h.data(id, s, "Plan "+name, "plans", pv))
	return nil
}

type auditView struct {
	Entries []ripcord.AuditEntry
	After   int64
	Next    int64
	More    bool
}

// auditPage shows a page of the audit log, oldest first (admins).
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	list, err := h.cfg.Store.ListAudit(r.Context(), ripcord.AuditFilter{After: after, Limit: defaultPage + 1})
	if err != nil {
		return err
	}
	v := auditView{After: after, Next: after}
	if len(list) > defaultPage {
		list, v.More = list[:defaultPage], true
	}
	v.Entries = list
	if n := len(list); n > 0 {
		v.Next = list[n-1].Seq
	}
	h.render(w, r, http.StatusOK, "audit", "", h.data(id, s, "Audit log", "audit", v))
	return nil
}

// errMessage is an error's message without its code.
func errMessage(err error) string {
	var re *ripcord.Error
	if errors.As(err, &re) && re.Message != "" {
		return re.Message
	}
	return err.Error()
}

// consoleEventText says briefly what an event records (`ripcord exec
// show` has the long sentences).
func consoleEventText(ev ripcord.Event) string {
	dec := func(v any) bool { return len(ev.Data) > 0 && json.Unmarshal(ev.Data, v) == nil }
	switch ev.Type {
	case engine.EvExecutionStarted:
		var d engine.Spec
		if dec(&d) {
			n := 0
			for _, st := range d.Steps {
				n += len(st.Servers)
			}
			return fmt.Sprintf("started %s of plan %s (%d steps, %d servers)", d.Mode, d.Plan, len(d.Steps), n)
		}
	case engine.EvStepStarted:
		var d engine.StepStarted
		if dec(&d) {
			return "step " + d.Step + " started"
		}
	case engine.EvStepFinished, engine.EvStepSkipped:
		var d engine.StepFinished
		if dec(&d) {
			t := "step " + d.Step + " " + d.Status
			if d.Reason != "" {
				t += ": " + d.Reason
			}
			return t
		}
	case engine.EvApprovalRequested:
		var d engine.ApprovalRequested
		if dec(&d) {
			return "step " + d.Step + " waits for approval: " + d.Message
		}
	case engine.EvApprovalGranted, engine.EvApprovalRejected, engine.EvApprovalTimedOut:
		var d engine.ApprovalDecision
		if dec(&d) {
			t := "step " + d.Step + " " + map[string]string{engine.EvApprovalGranted: "approved", engine.EvApprovalRejected: "rejected",
				engine.EvApprovalTimedOut: "timed out waiting for approval"}[ev.Type]
			if d.Via != "" {
				t += " (" + d.Via + ")"
			}
			if d.Comment != "" {
				t += ": " + d.Comment
			}
			return t
		}
	case engine.EvServersBlocked:
		var d engine.ServersBlocked
		if dec(&d) {
			return fmt.Sprintf("step %s: %s held by DRS job %s; waiting for it", d.Step, strings.Join(d.Servers, ", "), d.JobID)
		}
	case engine.EvLaunchRequested:
		var d engine.LaunchRequested
		if dec(&d) {
			return fmt.Sprintf("step %s: launch of %s requested (batch %s)", d.Step, strings.Join(d.Servers, ", "), d.Batch)
		}
	case engine.EvJobCreated, engine.EvJobAdopted, engine.EvTerminateJob:
		var d engine.JobCreated
		if dec(&d) {
			return fmt.Sprintf("batch %s: DRS job %s", d.Batch, d.JobID)
		}
	case engine.EvLaunchRefused:
		var d engine.LaunchRefused
		if dec(&d) {
			return fmt.Sprintf("batch %s refused by DRS (%s): %s", d.Batch, d.Code, d.Error)
		}
	case engine.EvLaunchUnclear, engine.EvTerminateUnclear:
		var d engine.LaunchUnclear
		if dec(&d) {
			return fmt.Sprintf("batch %s: answer lost (%s); reconciling with DRS", d.Batch, d.Error)
		}
	case engine.EvServerStatus:
		var d engine.ServerStatus
		if dec(&d) {
			t := fmt.Sprintf("server %s: %s", d.Server, d.Status)
			if d.JobID != "" {
				t += " (job " + d.JobID + ")"
			}
			if d.InstanceID != "" {
				t += " instance " + d.InstanceID
			}
			if d.Reason != "" {
				t += ": " + d.Reason
			}
			return t
		}
	case engine.EvExecutionPaused, engine.EvRetryRequested:
		var d engine.StepRef
		if dec(&d) {
			t := "paused"
			if ev.Type == engine.EvRetryRequested {
				t = "retry requested"
			}
			if d.Step != "" {
				t += " at step " + d.Step
			}
			if d.Reason != "" {
				t += ": " + d.Reason
			}
			return t
		}
	case engine.EvExecutionResumed:
		return "resumed"
	case engine.EvCancelRequested:
		return "cancel requested"
	case engine.EvCleanupRequested:
		return "cleanup requested"
	case engine.EvCleanupScheduled:
		var d engine.CleanupScheduled
		if dec(&d) {
			if !d.Due.IsZero() {
				return "cleanup scheduled for " + d.Due.UTC().Format(time.RFC3339)
			}
			return fmt.Sprintf("cleanup scheduled %s after the end", d.After)
		}
	case engine.EvCleanupFinished:
		var d engine.CleanupFinished
		if dec(&d) {
			return fmt.Sprintf("cleanup finished: %d instances terminated", d.Instances)
		}
	case engine.EvExecutionFinished:
		var d engine.ExecutionFinished
		if dec(&d) {
			t := "execution " + string(d.State)
			if d.Reason != "" {
				t += ": " + d.Reason
			}
			return t
		}
	case engine.EvDRSUnavailable:
		var d engine.DRSUnavailable
		if dec(&d) {
			return fmt.Sprintf("DRS in target %s failing (%s, %d attempts): %s", d.Target, d.Op, d.Attempts, d.Error)
		}
	case engine.EvDRSRecovered:
		var d engine.DRSRecovered
		if dec(&d) {
			return "DRS in target " + d.Target + " answers again"
		}
	case engine.EvDriverStarted:
		var d engine.DriverStarted
		if dec(&d) {
			return fmt.Sprintf("driver started on %s (pid %d, epoch %d)", d.Owner.Host, d.Owner.PID, d.Epoch)
		}
	case engine.EvDriverStopped:
		var d engine.DriverStopped
		if dec(&d) {
			return fmt.Sprintf("driver stopped (epoch %d): %s", d.Epoch, d.Reason)
		}
	}
	return ev.Type
}
