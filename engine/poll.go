package engine

import (
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Polling by need.
//
// A target is looked at (one DescribeJobs listing, shared with every other
// execution of this engine in the target: see jobView) only when it is
// due. After each look its next one is scheduled:
//
//   - at the shortest interval (MinPoll) while something waits on the
//     target: the last servers of a running step are in their last stage
//     (their recovery instance exists), which the next step waits for; or a
//     server waits to be launched and a job whose end would free it (its
//     blocker, or any active job while the quota is full) is in its last
//     stage, or there is no active job at all;
//   - otherwise at an interval that doubles from MinPoll up to Poll.
//
// A target no step or job of the execution needs is not looked at. A new
// step makes its targets due at once. Launch decisions between looks use
// the view as last read: DRS arbitrates (a launch it refuses is retried
// after a full look), so a slightly old view costs a refusal at worst.

// look brings the view of target up to date if the target is due in this
// pass, or if the view must be read again (after a refusal). A listing
// made since this run's previous look, by another execution of the engine,
// serves as this run's own if it is no older than the run's current
// interval for the target; the next look is then due an interval after
// that listing, so what the run knows is never older than it planned.
func (r *run) look(target string) error {
	if r.looked[target] || !r.isDue(target) && !r.e.viewStale(target) {
		return nil
	}
	iv := r.ival[target]
	if iv == 0 {
		iv = r.e.cfg.MinPoll
	}
	since := r.passStart.Add(-iv)
	if prev, ok := r.lastLook[target]; ok && !prev.Before(since) {
		since = prev.Add(time.Nanosecond)
	}
	if err := r.fresh(); err != nil {
		return err
	}
	err := r.e.refreshView(r.ctx, target, since)
	r.heard(target, err)
	if err != nil {
		return err
	}
	r.looked[target] = true
	r.lastLook[target] = r.e.listedAt(target)
	return nil
}

// isDue reports whether target's next look is due.
func (r *run) isDue(target string) bool {
	due, ok := r.due[target]
	return !ok || !r.now().Before(due)
}

// poll follows every known, unfinished job of the execution in the due
// targets, from their views, and records per-server changes.
func (r *run) poll() error {
	byTarget := map[string][]string{}
	for _, b := range r.s.Batches {
		if b.JobID == "" || !r.following(b) {
			continue
		}
		byTarget[b.Target] = append(byTarget[b.Target], b.JobID)
	}
	for _, target := range sortedKeys(byTarget) {
		if !r.isDue(target) {
			continue
		}
		err := r.look(target)
		if err == nil {
			// Jobs the view does not hold (recorded before a restart,
			// or before its horizon) are read by ID.
			err = r.e.lookUp(r.ctx, target, byTarget[target])
			r.heard(target, err)
		}
		if err != nil {
			if err := r.drsFailed(target, "DescribeJobs", err); err != nil {
				return err
			}
			continue
		}
		if h := r.e.cfg.Hooks.AfterPoll; h != nil {
			if err := h(); err != nil {
				return err
			}
		}
		for _, id := range byTarget[target] {
			j, ok := r.e.knownJob(target, id)
			if !ok {
				if err := r.jobGone(target, id); err != nil {
					return err
				}
				continue
			}
			prev, seen := r.jobs[j.ID]
			r.jobs[j.ID] = j
			if seen && sameJob(prev, j) && r.jobSettledByID(j.ID) {
				continue
			}
			if err := r.applyJob(j); err != nil {
				return err
			}
		}
	}
	return nil
}

// jobGone settles the servers of a batch whose job DRS no longer has,
// even by ID: a person deleted it (DRS deletes only completed jobs) before
// ripcord read its outcome. The outcome is then read from the recovery
// instances: a server with an instance that job launched is LAUNCHED, any
// other FAILED with the remedy. A job younger than two minutes on DRS's
// clock is given time to show instead.
func (r *run) jobGone(target, jobID string) error {
	var b *Batch
	for _, x := range r.s.Batches {
		if x.JobID == jobID {
			b = x
		}
	}
	if b == nil || b.Terminate {
		return nil // cleanup verifies instances itself
	}
	api, err := r.api(target)
	if err != nil {
		return err
	}
	if j, ok := r.jobs[jobID]; ok && drsNow(api, r.now()).Sub(j.Created) < 2*time.Minute {
		return nil
	}
	st := r.s.Steps[b.Step]
	var open []string
	for _, id := range b.Servers {
		if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID && sv.Status != srvLaunched && sv.Status != srvFailed {
			open = append(open, id)
		}
	}
	if len(open) == 0 {
		return nil
	}
	insts, err := api.ListRecoveryInstances(r.ctx, nil, open)
	r.heard(target, err)
	if err != nil {
		return r.drsFailed(target, "DescribeRecoveryInstances (deleted job)", err)
	}
	launched := map[string]string{}
	for _, in := range insts {
		if in.JobID == jobID {
			launched[in.SourceServerID] = in.ID
		}
	}
	var evs []ripcord.Event
	for _, id := range open {
		if in, ok := launched[id]; ok {
			evs = append(evs, r.ev(EvServerStatus, ServerStatus{Step: st.Spec.Name, Server: id, Status: srvLaunched, JobID: jobID, InstanceID: in}))
			continue
		}
		evs = append(evs, r.ev(EvServerStatus, ServerStatus{Step: st.Spec.Name, Server: id, Status: srvFailed, JobID: jobID,
			Reason: fmt.Sprintf("job %s was deleted from DRS before ripcord read its outcome, and no recovery instance it launched exists; launch the server again with: ripcord exec retry %s %s",
				jobID, r.s.ID, st.Spec.Name)}))
	}
	r.jobs[jobID] = ripcord.Job{ID: jobID, Status: ripcord.JobStatusCompleted}
	return r.record(evs...)
}

// following reports whether the batch's job still needs looking at: it
// is not known to have ended with every server of the batch final.
func (r *run) following(b *Batch) bool {
	j, ok := r.jobs[b.JobID]
	return !ok || j.Active() || !r.jobSettled(b)
}

// needs returns the targets the execution needs to look at, each with
// whether something waits on it (see the package comment above).
func (r *run) needs() map[string]bool {
	out := map[string]bool{}
	for _, b := range r.s.Batches {
		if b.JobID != "" && r.following(b) {
			out[b.Target] = out[b.Target] || false
		}
	}
	for _, name := range r.s.Order {
		st := r.s.Steps[name]
		if st.Status != stepRunning || st.Spec.Kind != ripcord.StepLaunch {
			continue
		}
		lastStage, open := true, 0
		for _, sv := range st.Servers {
			switch sv.Status {
			case srvLaunched, srvFailed:
				continue
			case srvLaunching:
				if sv.InstanceID == "" {
					lastStage = false
				}
			default:
				lastStage = false
			}
			open++
			out[sv.Target] = out[sv.Target] || false
		}
		if r.s.Cancel || r.s.Paused {
			lastStage = false // nothing new will be launched
		}
		quotaWait := map[string]bool{} // target -> freedSoon with no blocker, once
		for id, sv := range st.Servers {
			switch {
			case sv.Status == srvLaunched || sv.Status == srvFailed:
			case open > 0 && lastStage:
				out[sv.Target] = true
			case sv.Status == srvPending && !r.s.Cancel && !r.s.Paused && !out[sv.Target]:
				if b := st.Blockers[id]; b != "" {
					out[sv.Target] = r.freedSoon(sv.Target, b)
				} else {
					soon, ok := quotaWait[sv.Target]
					if !ok {
						soon = r.freedSoon(sv.Target, "")
						quotaWait[sv.Target] = soon
					}
					out[sv.Target] = soon
				}
			}
		}
	}
	return out
}

// freedSoon reports whether a server waiting to be launched in target may
// be freed soon: its blocker (or, with none, any active job, which may fill
// the quota) is in its last stage, or there is no such job in the view.
func (r *run) freedSoon(target, blocker string) bool {
	if blocker != "" {
		j, ok := r.e.knownJob(target, blocker)
		return !ok || !j.Active() || jobEnding(j)
	}
	active := r.e.activeJobs(target)
	if len(active) == 0 {
		return true
	}
	for _, j := range active {
		if jobEnding(j) {
			return true
		}
	}
	return false
}

// jobEnding reports whether every server of an active job is in its last
// stage: its recovery instance exists (a LAUNCH job launching it, or a
// TERMINATE job terminating it) or its outcome is known. DRS ends such a
// job, and frees its servers, within a minute or two.
func jobEnding(j ripcord.Job) bool {
	for _, ps := range j.Servers {
		switch ps.LaunchStatus {
		case ripcord.LaunchStatusLaunched, ripcord.LaunchStatusFailed, ripcord.LaunchStatusTerminated:
			continue
		}
		if ps.RecoveryInstanceID == "" {
			return false
		}
	}
	return true
}

// schedulePolls sets the next look of every target the execution needs,
// after a pass, and returns the earliest (zero: none needed).
func (r *run) schedulePolls() time.Time {
	now := r.now()
	needs := r.needs()
	for t := range r.due {
		if _, ok := needs[t]; !ok {
			delete(r.due, t)
			delete(r.ival, t)
		}
	}
	var next time.Time
	for t, urgent := range needs {
		iv := r.ival[t]
		switch {
		case urgent || iv == 0:
			iv = r.e.cfg.MinPoll
		case r.looked[t]:
			iv = min(2*iv, r.e.cfg.Poll)
		}
		r.ival[t] = iv
		due, scheduled := r.due[t]
		switch {
		case r.looked[t]:
			// An interval after the listing looked at (another
			// execution's may be older than this pass).
			due = r.lastLook[t].Add(iv)
		case !scheduled || !due.After(now):
			// New, or due in this pass without needing a look (a
			// launch held back by its backoff).
			due = now.Add(iv)
		case urgent && due.After(now.Add(iv)):
			due = now.Add(iv)
		}
		r.due[t] = due
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}

// dueNow makes the targets of a step due at once: it has just started, or
// a person changed it.
func (r *run) dueNow(st *StepState) {
	for _, sv := range st.Servers {
		delete(r.due, sv.Target)
		delete(r.ival, sv.Target)
	}
}
