package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// Inventory asks DRS what a target holds: ripcord serve's supervisor, over
// the connections it drives executions with.
type Inventory interface {
	// SourceServers lists the source servers DRS holds in target t.
	SourceServers(ctx context.Context, t ripcord.Target) ([]ripcord.SourceServer, error)
	// JobLog returns the log of DRS job jobID in target t, oldest first
	// (DescribeJobLogItems).
	JobLog(ctx context.Context, t ripcord.Target, jobID string) ([]ripcord.JobLogItem, error)
}

// latestPlans decodes the latest saved version of the plan named name, or
// of every plan with name "", by name. A plan whose latest version does not
// decode is left out (and logged), never shown by an older version.
func (h *Handler) latestPlans(ctx context.Context, name string) (map[string]*ripcord.PlanFile, error) {
	vs, err := h.cfg.Store.ListPlanVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]*ripcord.PlanFile{}
	seen := map[string]bool{}
	for _, v := range vs { // newest first
		if seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		f, err := plan.Decode(v.Name+".yaml", v.Source)
		if err != nil {
			h.log.WarnContext(ctx, "a saved plan version does not decode", "plan", v.Name, "version", v.Hash, "error", err)
			continue
		}
		one, err := f.Extract(v.Name)
		if err != nil {
			continue
		}
		out[v.Name] = one
	}
	return out, nil
}

func (h *Handler) listTargets(w http.ResponseWriter, r *http.Request, _ *identity) error {
	targets, err := perPlan(h, r.Context(), func(plan string, f *ripcord.PlanFile) (out []client.TargetInfo) {
		for _, t := range f.Targets {
			out = append(out, client.TargetInfo{Plan: plan, Name: t.Name, Account: t.Account, Region: t.Region, RoleARN: t.RoleARN})
		}
		return out
	}, func(t client.TargetInfo) string { return t.Name })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.TargetList{Targets: targets})
	return nil
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, _ *identity) error {
	groups, err := perPlan(h, r.Context(), func(plan string, f *ripcord.PlanFile) (out []client.GroupInfo) {
		for _, g := range f.ProtectionGroups {
			out = append(out, client.GroupInfo{Plan: plan, Name: g.Name, Target: g.Target, Servers: g.Servers, Selector: g.Selector})
		}
		return out
	}, func(g client.GroupInfo) string { return g.Name })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.GroupList{Groups: groups})
	return nil
}

// perPlan gathers what each plan's latest version holds (of), by plan and
// then by name.
func perPlan[T any](h *Handler, ctx context.Context, of func(plan string, f *ripcord.PlanFile) []T, name func(T) string) ([]T, error) {
	plans, err := h.latestPlans(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []T{}
	for _, p := range sortedNames(plans) {
		items := of(p, plans[p])
		slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(name(a), name(b)) })
		out = append(out, items...)
	}
	return out, nil
}

// planServers answers the source servers of a plan's targets as DRS shows
// them now (serversOf).
func (h *Handler) planServers(w http.ResponseWriter, r *http.Request, _ *identity) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	servers, err := h.serversOf(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.ServerList{Servers: servers})
	return nil
}

// serversOf lists the source servers of the latest version of plan name's
// targets as DRS shows them now: readiness under the plan's RPO, and the
// steps and groups of the plan that launch each; by target, then ID.
func (h *Handler) serversOf(ctx context.Context, name string) ([]client.ServerInfo, error) {
	if h.cfg.Inventory == nil {
		return nil, errNoInventory
	}
	plans, err := h.latestPlans(ctx, name)
	if err != nil {
		return nil, err
	}
	one := plans[name]
	if one == nil {
		return nil, fail(ripcord.ENOTFOUND, fmt.Sprintf("no plan named %q is saved", name), "GET /api/v1/plans lists them")
	}
	servers, _, failed := resolveServers(ctx, name, one, h.cfg.Inventory.SourceServers)
	if len(failed) > 0 {
		return nil, fmt.Errorf("target %s: %w", failed[0].Target, failed[0].Err)
	}
	return servers, nil
}

// errNoInventory answers what needs DRS on a server that does not reach it.
var errNoInventory = fail(ripcord.EUNAVAILABLE, "this server does not reach DRS", "ask ripcord serve, which connects to each plan's targets")

// listServers lists what DRS holds in a target: Inventory.SourceServers,
// or memoServers' memo of it.
type listServers func(ctx context.Context, t ripcord.Target) ([]ripcord.SourceServer, error)

// targetFailure is a target whose servers DRS did not list.
type targetFailure struct {
	Target string
	Err    error
}

// resolveServers lists the source servers of plan name's targets (of one,
// its latest version) with list: as the API shows them (readiness under
// the plan's RPO, the steps and groups that launch each; by target, then
// ID), as DRS answered them by target name, and the targets DRS did not
// list, in the plan's order.
func resolveServers(ctx context.Context, name string, one *ripcord.PlanFile, list listServers) ([]client.ServerInfo, map[string][]ripcord.SourceServer, []targetFailure) {
	p, _ := one.Plan(name)
	known := map[string][]ripcord.SourceServer{}
	infos := map[string][]plan.SourceServerInfo{}
	var failed []targetFailure
	for _, t := range one.Targets {
		servers, err := list(ctx, t)
		if err != nil {
			failed = append(failed, targetFailure{Target: t.Name, Err: err})
			continue
		}
		known[t.Name] = servers
		for _, s := range servers {
			infos[t.Name] = append(infos[t.Name], plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
		}
	}
	steps, groups := map[string][]string{}, map[string][]string{}
	if resolved, err := plan.Resolve(one, name, infos); err == nil {
		for _, rs := range resolved {
			for _, sv := range rs.Servers {
				key := sv.Target + "/" + sv.ID
				steps[key] = append(steps[key], rs.Step)
				for _, g := range sv.Groups {
					if !slices.Contains(groups[key], g) {
						groups[key] = append(groups[key], g)
					}
				}
			}
		}
	}
	out := []client.ServerInfo{}
	for _, t := range one.Targets {
		for _, s := range known[t.Name] {
			ready, why := s.Ready(p.Settings.RPOTarget)
			key := t.Name + "/" + s.ID
			out = append(out, client.ServerInfo{Target: t.Name, ID: s.ID, Hostname: s.Hostname, OS: s.OS,
				ReplicationState: s.ReplicationState, LagSeconds: s.Lag.Seconds(), Ready: ready, Why: why,
				Steps: steps[key], Groups: groups[key]})
		}
	}
	slices.SortFunc(out, func(a, b client.ServerInfo) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.ID, b.ID))
	})
	return out, known, failed
}

// memoServers lists each target definition's servers once however many
// plans name it (a page that shows every plan asks DRS once per target),
// and keeps the answers only as long as the returned function is kept.
func memoServers(inv Inventory) listServers {
	type answer struct {
		servers []ripcord.SourceServer
		err     error
	}
	var mu sync.Mutex
	seen := map[string]answer{}
	return func(ctx context.Context, t ripcord.Target) ([]ripcord.SourceServer, error) {
		key, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		a, ok := seen[string(key)]
		mu.Unlock()
		if ok {
			return a.servers, a.err
		}
		a.servers, a.err = inv.SourceServers(ctx, t)
		mu.Lock()
		seen[string(key)] = a
		mu.Unlock()
		return a.servers, a.err
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// DRS job logs: the API's GET /api/v1/executions/{id}/jobs/{job}/log and
// the "DRS job log" of an execution's page read them through one cache, so
// that a live page re-rendered on every event does not ask DRS each time.

const (
	// jobLogCacheSize bounds the jobs whose logs are kept (the least
	// recently asked for goes first).
	jobLogCacheSize = 1000
	// jobLogRefresh is how often an unfinished job's log (or a failure to
	// read one) is read from DRS again at most.
	jobLogRefresh = 10 * time.Second
)

// jobIDRe is what a job ID in a path may be before it is looked up among
// the execution's jobs (DRS's are drsjob- and 17 characters).
var jobIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// execJob is one DRS job of an execution, as its log records it.
type execJob struct {
	ID        string
	Target    string // the target's name in the execution's plan
	Step      string // a launch job's step
	Terminate bool   // a drill cleanup's TERMINATE job
	Servers   []string
	Requested time.Time
	// Final: DRS will add nothing the execution waits for: every server
	// the execution launched through the job is LAUNCHED or FAILED (for a
	// TERMINATE job: the cleanup finished).
	Final bool
}

// execJobs lists the DRS jobs execution s recorded (JobCreated,
// JobAdopted, TerminateJobCreated), in the order their batches were
// requested.
func execJobs(s *engine.State) []execJob {
	byID := map[string]*execJob{}
	for _, b := range s.Batches {
		if b.JobID == "" {
			continue
		}
		j := byID[b.JobID]
		if j == nil {
			j = &execJob{ID: b.JobID, Target: b.Target, Step: b.Step, Terminate: b.Terminate, Requested: b.Requested, Final: true}
			byID[b.JobID] = j
		}
		j.Servers = append(j.Servers, b.Servers...)
		j.Final = j.Final && batchFinal(s, b)
	}
	out := make([]execJob, 0, len(byID))
	for _, j := range byID {
		out = append(out, *j)
	}
	slices.SortFunc(out, func(a, b execJob) int {
		return cmp.Or(a.Requested.Compare(b.Requested), strings.Compare(a.ID, b.ID))
	})
	return out
}

// batchFinal reports whether every server of batch b has its outcome (its
// attempt through b is LAUNCHED or FAILED); a TERMINATE batch, whether the
// cleanup finished.
func batchFinal(s *engine.State, b *engine.Batch) bool {
	if b.Terminate {
		return s.Cleanup.Done
	}
	st := s.Steps[b.Step]
	if st == nil {
		return false
	}
	for _, id := range b.Servers {
		sv := st.Servers[id]
		if sv == nil {
			return false
		}
		final := false
		for _, a := range sv.History {
			if a.Batch == b.ID {
				final = a.Status == "LAUNCHED" || a.Status == "FAILED"
			}
		}
		if !final {
			return false
		}
	}
	return true
}

// jobLogCache keeps DRS job logs by account, region and job: a finished
// job's for good (DRS adds nothing to it), an unfinished job's, or a
// failure to read it, for jobLogRefresh.
type jobLogCache struct{ *lru[jobLogEntry] }

type jobLogEntry struct {
	mu      sync.Mutex // held while the log is read from DRS: one read at a time
	items   []ripcord.JobLogItem
	err     error
	fetched time.Time // zero: never read
	done    bool      // kept for good
}

func newJobLogCache(max int) *jobLogCache { return &jobLogCache{newLRU[jobLogEntry](max)} }

func (c *jobLogCache) entry(key string) *jobLogEntry { return c.get(key) }

// jobLog returns job j's log in target t and when it was read from DRS:
// from the cache when j's log is kept for good or was read less than
// jobLogRefresh ago, else from DRS. A log is kept for good once j is final
// and the log has DRS's JOB_END (a log read the moment the last server
// launched could lack its end).
func (h *Handler) jobLog(ctx context.Context, t ripcord.Target, j execJob) ([]ripcord.JobLogItem, time.Time, error) {
	e := h.jobLogs.entry(t.Account + "/" + t.Region + "/" + j.ID)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := h.now()
	if e.done || !e.fetched.IsZero() && now.Sub(e.fetched) < jobLogRefresh && now.Sub(e.fetched) >= 0 {
		return e.items, e.fetched, e.err
	}
	items, err := h.cfg.Inventory.JobLog(ctx, t, j.ID)
	if err != nil && ctx.Err() != nil {
		// The request ended, not DRS: keep what there was.
		return e.items, e.fetched, err
	}
	e.items, e.err, e.fetched = items, err, now
	e.done = err == nil && j.Final && slices.ContainsFunc(items, func(it ripcord.JobLogItem) bool { return it.Event == "JOB_END" })
	return e.items, e.fetched, e.err
}

// read brings execution id's folded state up to date (as summary does)
// and gives it to fn, which must not keep it.
func (c *foldCache) read(ctx context.Context, store ripcord.Store, id string, fn func(*engine.State)) error {
	e := c.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == nil {
		s, err := fold(ctx, store, id)
		if err != nil {
			c.drop(id, e)
			return err
		}
		e.state = s
	} else if err := follow(ctx, store, e.state); err != nil {
		e.state = nil
		c.drop(id, e)
		return err
	}
	fn(e.state)
	return nil
}

// targetNamed finds target name among an execution's targets.
func targetNamed(targets []ripcord.Target, name string) (ripcord.Target, bool) {
	for _, t := range targets {
		if t.Name == name {
			return t, true
		}
	}
	return ripcord.Target{}, false
}

// executionJobLog answers the log of one of an execution's DRS jobs, read
// in the target the execution's spec names for it.
func (h *Handler) executionJobLog(w http.ResponseWriter, r *http.Request, _ *identity) error {
	id, err := executionID(r)
	if err != nil {
		return err
	}
	jobID := r.PathValue("job")
	if !jobIDRe.MatchString(jobID) {
		return fail(ripcord.EINVALID, fmt.Sprintf("%q is not a DRS job ID", jobID), "GET /api/v1/executions/"+id+"/events names the execution's jobs (JobCreated, JobAdopted, TerminateJobCreated)")
	}
	var jobs []execJob
	var targets []ripcord.Target
	if err := h.folds.read(r.Context(), h.cfg.Store, id, func(s *engine.State) {
		jobs, targets = execJobs(s), slices.Clone(s.Spec.Targets)
	}); err != nil {
		return notFound(err, id)
	}
	i := slices.IndexFunc(jobs, func(j execJob) bool { return j.ID == jobID })
	if i < 0 {
		return fail(ripcord.ENOTFOUND, fmt.Sprintf("execution %s has no DRS job %s", id, jobID),
			"GET /api/v1/executions/"+id+"/events names the execution's jobs (JobCreated, JobAdopted, TerminateJobCreated)")
	}
	j := jobs[i]
	if h.cfg.Inventory == nil {
		return errNoInventory
	}
	t, ok := targetNamed(targets, j.Target)
	if !ok {
		return fail(ripcord.EUNAVAILABLE, fmt.Sprintf("execution %s does not say how to reach its target %s", id, j.Target),
			"its first event (ExecutionStarted) lists no such target: read the job's log in DRS (aws drs describe-job-log-items)")
	}
	items, _, err := h.jobLog(r.Context(), t, j)
	if err != nil {
		return fail(ripcord.EUNAVAILABLE, fmt.Sprintf("DRS did not give the log of job %s in target %s: %s", jobID, j.Target, errMessage(err)),
			"try again; the server reads a job's log from DRS at most every 10 seconds")
	}
	out := client.JobLog{Execution: id, Job: jobID, Target: j.Target, Items: make([]client.JobLogItem, len(items))}
	for i, it := range items {
		out.Items[i] = client.JobLogItem{At: it.At, Event: it.Event, SourceServerID: it.SourceServerID,
			TargetInstanceID: it.TargetInstanceID, ConversionServerID: it.ConversionServerID, RawError: it.RawError}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
