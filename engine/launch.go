package engine

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// driveLaunch advances one running launch step: it finishes the step when
// every server is final, fails servers held past the conflict deadline, and
// launches the free ones in batches within the quotas.
func (r *run) driveLaunch(st *StepState) error {
	if len(st.Spec.Health) > 0 {
		// The health gate: checks start as each server launches.
		if err := r.startGates(st); err != nil {
			return err
		}
		if err := r.attemptChecks(st); err != nil {
			return err
		}
	}
	if done, err := r.maybeFinishStep(st); done || err != nil {
		return err
	}
	if r.s.Cancel || r.s.Paused {
		return nil
	}
	pending := map[string][]string{} // target -> servers
	for _, id := range sortedKeys(st.Servers) {
		sv := st.Servers[id]
		if sv.Status == srvPending {
			pending[sv.Target] = append(pending[sv.Target], id)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if t, ok := r.notBefore[st.Spec.Name]; ok && r.now().Before(t) {
		return nil
	}
	for _, target := range sortedKeys(pending) {
		if err := r.launchTarget(st, target, pending[target]); err != nil {
			return err
		}
	}
	_, err := r.maybeFinishStep(st)
	return err
}

// launchTarget looks at the target's active jobs, records who blocks which
// server, and launches the free servers in batches the quotas allow.
func (r *run) launchTarget(st *StepState, target string, servers []string) error {
	if r.ownJobsFillQuota(st, target, servers) {
		return nil
	}
	k := r.e.keeperFor(target)
	k.mu.Lock()
	defer k.mu.Unlock()
	release, err := r.lockTarget(target, k)
	if err != nil {
		return err
	}
	launched := false
	defer func() { release(launched) }()
	if err := r.look(target); err != nil {
		return r.drsFailed(target, "DescribeJobs (active jobs)", err)
	}
	active := r.e.activeJobs(target)
	holder, _ := Holders(active)
	deadline := st.clockStart().Add(r.s.Spec.Settings.ConflictDeadline)
	var free []string
	blocked := map[string][]string{} // job -> servers newly blocked by it
	for _, id := range servers {
		j, held := holder[id]
		if !held {
			free = append(free, id)
			continue
		}
		if r.s.Spec.Settings.ConflictDeadline > 0 && !r.now().Before(deadline) {
			reason := fmt.Sprintf("held by job %s (%s, %s since %s) past the conflict deadline of %s",
				j.ID, j.Type, j.Status, j.Created.UTC().Format(time.RFC3339), r.s.Spec.Settings.ConflictDeadline)
			if err := r.record(r.ev(EvServerStatus, ServerStatus{Step: st.Spec.Name, Server: id, Status: srvFailed, Reason: reason})); err != nil {
				return err
			}
			continue
		}
		if st.Blockers[id] != j.ID {
			blocked[j.ID] = append(blocked[j.ID], id)
		}
	}
	for _, jobID := range sortedKeys(blocked) {
		var j ripcord.Job
		for _, a := range active {
			if a.ID == jobID {
				j = a
			}
		}
		if err := r.record(r.ev(EvServersBlocked, ServersBlocked{Step: st.Spec.Name, Target: target, Servers: blocked[jobID],
			JobID: j.ID, JobType: j.Type, Since: j.Created})); err != nil {
			return err
		}
	}
	if free, err = r.readyToLaunch(st, target, free); err != nil {
		return err
	}
	if r.s.Spec.Mode == ripcord.ModeFailback {
		if free, err = r.failbackInstances(st, target, free); err != nil {
			return err
		}
	}
	q := r.e.cfg.Quotas
	jobsLeft, serversLeft := q.Free(active)
	r.e.quotaSeen(QuotaHeadroom{Target: target, Jobs: jobsLeft, Servers: serversLeft})
	expected := make(map[string]time.Duration, len(st.Spec.Servers))
	for _, sv := range st.Spec.Servers {
		expected[sv.ID] = sv.Expected
	}
	slowestFirst(free, func(id string) time.Duration { return expected[id] })
	for _, n := range batchSizes(len(free), jobsLeft, serversLeft, q) {
		batch := free[:n]
		free = free[n:]
		launched = true
		if err := r.launchBatch(st, target, batch); err != nil {
			return err
		}
		if _, refused := r.notBefore[st.Spec.Name]; refused {
			break
		}
	}
	return nil
}

// ownJobsFillQuota reports whether this execution's own active jobs in the
// target, as this pass's poll saw them, already fill its quotas, so that
// nothing could be launched now. Then there is no need to list every job of
// the target, the costliest read at scale (DRS has no status filter, so the
// listing carries every job ever run with all its servers). Servers waiting
// on another job's blocker still need the listing: their conflict deadline
// is judged on it.
func (r *run) ownJobsFillQuota(st *StepState, target string, servers []string) bool {
	for _, id := range servers {
		if st.Blockers[id] != "" {
			return false
		}
	}
	jobs, n := 0, 0
	for _, b := range r.s.Batches {
		if b.Target != target || b.JobID == "" {
			continue
		}
		if j, ok := r.jobs[b.JobID]; ok && j.Active() {
			jobs++
			n += len(j.Servers)
		}
	}
	q := r.e.cfg.Quotas
	return jobs >= q.ActiveJobs-q.Headroom || n >= q.ServersInActiveJobs-10*q.Headroom
}

// launchBatch records the intent, calls StartRecovery once (the adapter has
// the SDK's retries off for it) and records the outcome. The call and the
// recording of its outcome run as one mutation: a soft stop lets them
// finish, and a driver that lost its lease makes neither.
func (r *run) launchBatch(st *StepState, target string, servers []string) error {
	s := r.s
	id := fmt.Sprintf("b%d", s.nextBatch+1)
	if err := r.record(r.ev(EvLaunchRequested, LaunchRequested{Step: st.Spec.Name, Batch: id, Target: target, Servers: servers,
		DRSTime: r.drsTime(target)})); err != nil {
		return err
	}
	if h := r.e.cfg.Hooks.AfterIntent; h != nil {
		if err := h(id); err != nil {
			return err
		}
	}
	return r.mutation(func() error { return r.startRecovery(st, target, id, servers) })
}

// jobTags are the tags of a batch's job: how ripcord knows its own jobs.
func (r *run) jobTags(step, batch string) map[string]string {
	tags := map[string]string{}
	for k, v := range r.s.Spec.Tags {
		tags[k] = v
	}
	tags[ripcord.TagExecution], tags[ripcord.TagStep], tags[ripcord.TagBatch] = r.s.ID, step, batch
	tags[ripcord.TagPlan] = r.s.Spec.Plan
	return tags
}

func (r *run) startRecovery(st *StepState, target, id string, servers []string) error {
	s := r.s
	ls := make([]ripcord.LaunchServer, len(servers))
	for i, sv := range servers {
		ls[i] = ripcord.LaunchServer{ID: sv}
	}
	op := "StartRecovery"
	var job ripcord.Job
	var err error
	if s.Spec.Mode == ripcord.ModeFailback {
		op = "StartFailbackLaunch"
		job, err = r.startFailbackLaunch(target, servers, r.jobTags(st.Spec.Name, id))
	} else {
		job, err = r.e.cfg.Targets[target].StartRecovery(r.ctx, ls, s.Spec.Mode == ripcord.ModeDrill, r.jobTags(st.Spec.Name, id))
	}
	r.heard(target, err)
	if h := r.e.cfg.Hooks.AfterCall; h != nil {
		if herr := h(id); herr != nil {
			return herr
		}
	}
	if err == nil {
		delete(r.backoff, st.Spec.Name)
		delete(r.notBefore, st.Spec.Name)
		r.jobs[job.ID] = job
		r.e.noteJob(target, job)
		return r.record(r.ev(EvJobCreated, JobCreated{Batch: id, JobID: job.ID, Created: job.Created}))
	}
	class := ripcord.Classify(err)
	if class == ripcord.ClassConflict || class == ripcord.ClassQuota {
		// A job the view does not know may hold the servers or the
		// quota (one older than the horizon): read all of history
		// before the next launch.
		r.e.forceFull(target)
	}
	switch {
	case isUnclear(err):
		return r.record(r.ev(EvLaunchUnclear, LaunchUnclear{Batch: id, Error: err.Error()}))
	case class == ripcord.ClassConflict && r.retriedBatch(st, servers):
		// A conflict right after a retry of the same servers may be our
		// own earlier job: reconcile as if unclear (by tags).
		return r.record(r.ev(EvLaunchUnclear, LaunchUnclear{Batch: id, Error: err.Error()}))
	case class == ripcord.ClassPermanent:
		// DRS refused the batch for good (access, credentials,
		// validation): the servers wait, the execution pauses for a
		// person with the reason and the remedy.
		if err := r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: refusalCode(err), Error: err.Error()})); err != nil {
			return err
		}
		return r.pauseFor(fmt.Sprintf("step %s: %s in target %s refused: %v", st.Spec.Name, op, target, err), remedyOf(err))
	default: // conflict, quota, throttling, transient: try again later
		r.delay(st.Spec.Name)
		if err := r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: refusalCode(err), Error: err.Error()})); err != nil {
			return err
		}
		if class == ripcord.ClassTransient {
			return r.outageSeen(target, op, err)
		}
		return nil
	}
}

// retriedBatch reports whether any of servers was in an earlier batch of the
// step whose outcome was unclear.
func (r *run) retriedBatch(st *StepState, servers []string) bool {
	for _, sv := range servers {
		if s := st.Servers[sv]; s != nil && s.Attempts > 1 {
			for _, b := range r.s.Batches {
				if b.Step == st.Spec.Name && b.JobID == "" && b.Refused && slices.Contains(b.Servers, sv) {
					return true
				}
			}
		}
	}
	return false
}

// delay schedules the step's next launch attempt with exponential backoff
// and full jitter, bounded by the conflict deadline.
func (r *run) delay(step string) {
	n := r.backoff[step]
	r.backoff[step] = n + 1
	base := r.e.cfg.MinPoll << min(n, 6)
	if base > r.e.cfg.Poll*4 {
		base = r.e.cfg.Poll * 4
	}
	d := r.e.cfg.MinPoll + r.e.jitter(base)
	at := r.now().Add(d)
	if st := r.s.Steps[step]; st != nil && r.s.Spec.Settings.ConflictDeadline > 0 {
		if dl := st.clockStart().Add(r.s.Spec.Settings.ConflictDeadline); at.After(dl) {
			at = dl
		}
	}
	r.notBefore[step] = at
}

// reconcileUnclear settles every batch whose StartRecovery outcome is not
// known: it adopts the job DRS created for it, recognized by this
// execution's and this batch's tags (ownJob), or, if there is none,
// returns the servers to pending so that they are launched again. A job
// with the same servers but not these tags (a colleague's, a blocker,
// another execution's, this execution's earlier batch) is never adopted.
func (r *run) reconcileUnclear() error {
	for _, id := range sortedKeys(r.s.Batches) {
		b := r.s.Batches[id]
		if !b.Unclear || b.Terminate {
			continue
		}
		api, err := r.api(b.Target)
		if err != nil {
			return err
		}
		jobs, err := api.JobsCreatedSince(r.ctx, b.since().Add(-reconcileWindow))
		r.heard(b.Target, err)
		if err != nil {
			defer r.onStep(b.Step)()
			return r.drsFailed(b.Target, "DescribeJobs (reconcile)", err)
		}
		if j, ok := ownJob(jobs, r.s.ID, b); ok {
			r.jobs[j.ID] = j
			r.e.noteJob(b.Target, j)
			if err := r.record(r.ev(EvJobAdopted, JobCreated{Batch: id, JobID: j.ID, Created: j.Created})); err != nil {
				return err
			}
			continue
		}
		r.delay(b.Step) // design 4.1.5: retry with backoff and full jitter
		if err := r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: "UNCLEAR",
			Error: "no job tagged for this batch exists in DRS after an unclear StartRecovery; its servers will be launched again"})); err != nil {
			return err
		}
	}
	return nil
}

// reconcileWindow is how far before an intent reconciliation looks for
// its job. The job is recognized by its tags, not by its time: the window
// only bounds the listing. It is counted from the intent on DRS's own
// clock (Batch.DRSTime, from the Date of DRS's answers), so that a clock
// of ripcord's that runs ahead of DRS's cannot hide the job; the margin
// covers the Date header's one-second resolution and more.
const reconcileWindow = 15 * time.Minute

// serverClock is implemented by DRS clients that know DRS's clock
// (drs.Client, from the Date header of its answers).
type serverClock interface{ ServerTime() (time.Time, bool) }

// drsTime is the latest time DRS said it was in target, or zero.
func (r *run) drsTime(target string) time.Time {
	if c, ok := r.e.cfg.Targets[target].(serverClock); ok {
		if t, ok := c.ServerTime(); ok {
			return t
		}
	}
	return time.Time{}
}

// ownJob is the one job matcher: among jobs, the job of batch b of
// execution execID. A LAUNCH job is ours only if DRS records our tags on it
// (the execution's ID and the batch's); its servers must then be exactly
// the batch's, as a sanity check. A cleanup batch is matched by
// terminateJob.
func ownJob(jobs []ripcord.Job, execID string, b *Batch) (ripcord.Job, bool) {
	if b.Terminate {
		return terminateJob(jobs, b)
	}
	for _, j := range jobs {
		if j.Type != ripcord.JobTypeLaunch || j.Tags[ripcord.TagExecution] != execID || j.Tags[ripcord.TagBatch] != b.ID {
			continue
		}
		got := make([]string, len(j.Servers))
		for i, ps := range j.Servers {
			got[i] = ps.SourceServerID
		}
		want := slices.Clone(b.Servers)
		slices.Sort(got)
		slices.Sort(want)
		if slices.Equal(got, want) {
			return j, true
		}
	}
	return ripcord.Job{}, false
}

func sameJob(a, b ripcord.Job) bool {
	if a.Status != b.Status || len(a.Servers) != len(b.Servers) {
		return false
	}
	for i := range a.Servers {
		if a.Servers[i] != b.Servers[i] {
			return false
		}
	}
	return true
}

func (r *run) jobSettledByID(jobID string) bool {
	for _, b := range r.s.Batches {
		if b.JobID == jobID {
			return r.jobSettled(b)
		}
	}
	return true
}

// jobSettled reports whether every server of the batch is final in the state.
func (r *run) jobSettled(b *Batch) bool {
	if b.Terminate {
		return r.s.Cleanup.Done
	}
	st := r.s.Steps[b.Step]
	if st == nil {
		return true
	}
	for _, id := range b.Servers {
		if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID && sv.Status != srvLaunched && sv.Status != srvFailed {
			return false
		}
	}
	return true
}

// applyJob records the per-server changes a job shows; failed servers get
// the reason from the job log (fetched only for jobs that changed).
func (r *run) applyJob(j ripcord.Job) error {
	var b *Batch
	for _, x := range r.s.Batches {
		if x.JobID == j.ID {
			b = x
		}
	}
	if b == nil || b.Terminate {
		return nil
	}
	if j.Tags[ripcord.TagExecution] != r.s.ID || j.Tags[ripcord.TagBatch] != b.ID {
		// Not the job this batch started: never follow another's job
		// as ours.
		return r.pauseFor(fmt.Sprintf("job %s, recorded for batch %s, does not carry this execution's tags (%v)", j.ID, b.ID, j.Tags),
			"check the job in the DRS console; ripcord follows only jobs tagged ripcord:execution="+r.s.ID+"; then: ripcord exec resume {execution}")
	}
	st := r.s.Steps[b.Step]
	var log []ripcord.JobLogItem
	var evs []ripcord.Event
	for _, ps := range j.Servers {
		sv := st.Servers[ps.SourceServerID]
		if sv == nil || sv.Batch != b.ID {
			continue
		}
		status := srvLaunching
		switch ps.LaunchStatus {
		case ripcord.LaunchStatusLaunched:
			status = srvLaunched
		case ripcord.LaunchStatusFailed, ripcord.LaunchStatusTerminated:
			status = srvFailed
		}
		if !j.Active() && status == srvLaunching {
			status = srvFailed // the job ended without a verdict for this server
		}
		if status == sv.Status && (ps.RecoveryInstanceID == "" || ps.RecoveryInstanceID == sv.InstanceID) {
			continue
		}
		reason := ""
		if status == srvFailed {
			if log == nil {
				api, err := r.api(b.Target)
				if err != nil {
					return err
				}
				if log, err = api.JobLog(r.ctx, j.ID); err != nil {
					// The reason is a nicety: without the log the
					// server still fails, with a plainer reason.
					r.logger().Warn("reading a job log failed", "job", j.ID, "err", err)
				}
			}
			reason = failureReason(log, ps.SourceServerID, j.ID)
		}
		evs = append(evs, r.ev(EvServerStatus, ServerStatus{Step: st.Spec.Name, Server: ps.SourceServerID, Status: status,
			JobID: j.ID, InstanceID: ps.RecoveryInstanceID, Reason: reason}))
	}
	if len(evs) == 0 {
		return nil
	}
	return r.record(evs...)
}

// failureReason finds why a server failed in its job's log.
func failureReason(log []ripcord.JobLogItem, server, jobID string) string {
	for i := len(log) - 1; i >= 0; i-- {
		it := log[i]
		if it.SourceServerID == server && (strings.HasSuffix(it.Event, "_FAIL") || strings.HasSuffix(it.Event, "_FAILED") || it.Event == "SERVER_SKIPPED") {
			if it.RawError != "" {
				return fmt.Sprintf("%s in job %s: %s", it.Event, jobID, it.RawError)
			}
			return fmt.Sprintf("%s in job %s", it.Event, jobID)
		}
	}
	return "job " + jobID + " reports the launch FAILED"
}

// maybeFinishStep ends the step when every server is final.
func (r *run) maybeFinishStep(st *StepState) (bool, error) {
	var critical []string
	for _, id := range sortedKeys(st.Servers) {
		sv := st.Servers[id]
		switch sv.Status {
		case srvLaunched:
		case srvFailed:
			if !sv.Optional {
				critical = append(critical, fmt.Sprintf("%s (%s)", id, sv.Reason))
			}
		default:
			if t := r.s.Spec.Settings.StepTimeout; t > 0 && !r.now().Before(st.clockStart().Add(t)) {
				return true, r.record(r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepFailed,
					Reason: fmt.Sprintf("step timeout of %s passed with server %s %s", t, id, sv.Status)}))
			}
			return false, nil
		}
	}
	if len(critical) > 0 {
		return true, r.record(r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepFailed,
			Reason: "critical servers failed: " + strings.Join(critical, "; ")}))
	}
	pending, unhealthy := st.gatesPending()
	switch {
	case pending && r.s.Cancel:
		return true, r.record(r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepSkipped,
			Reason: "execution cancelled while the health gate checked the launched servers"}))
	case pending:
		return false, nil
	case len(unhealthy) > 0:
		return true, r.record(r.ev(EvStepFinished, StepFinished{Step: st.Spec.Name, Status: stepFailed,
			Reason: "health gate failed: " + strings.Join(unhealthy, "; ")}))
	}
	return true, r.succeedStep(st, "")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// refusalCode is DRS's error type when DRS answered (ConflictException,
// ServiceQuotaExceededException, ...), else ripcord's error code.
func refusalCode(err error) string {
	if d := drsErr(err); d != nil && d.Type != "" {
		return d.Type
	}
	return ripcord.ErrorCode(err)
}

// Error classification, on ripcord.DRSError as the adapter returns it.
func drsErr(err error) *ripcord.DRSError {
	var d *ripcord.DRSError
	if errors.As(err, &d) {
		return d
	}
	return nil
}

func isUnclear(err error) bool {
	d := drsErr(err)
	return d != nil && d.Unclear
}

// terminateJob finds the TERMINATE job of a cleanup batch.
// TerminateRecoveryInstances takes no tags, so DRS cannot say whose a
// TERMINATE job is; it is matched by the instances it holds, which are
// this execution's own (cleanup verified that with DescribeRecoveryInstances
// before asking). Adopting a colleague's TERMINATE job of the same
// instances is harmless: it does what the batch asked.
func terminateJob(jobs []ripcord.Job, b *Batch) (ripcord.Job, bool) {
	for _, j := range jobs {
		if j.Type != ripcord.JobTypeTerminate {
			continue
		}
		for _, ps := range j.Servers {
			if ps.RecoveryInstanceID != "" && slices.Contains(b.Servers, ps.RecoveryInstanceID) {
				return j, true
			}
		}
	}
	return ripcord.Job{}, false
}
