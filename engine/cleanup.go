package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Cleanup asks for an execution's drill instances to be terminated: only the
// recovery instances this execution's own jobs launched, never another
// execution's and never a recovery. Run carries it out and verifies it.
func (e *Engine) Cleanup(ctx context.Context, id, actor string) error {
	return e.control(ctx, id, actor, EvCleanupRequested, struct{}{}, func(s *State) error {
		if s.Spec.Mode != ripcord.ModeDrill {
			return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("execution %s is a %s, not a drill", id, s.Spec.Mode),
				Hint: "ripcord terminates only drill instances; recovery instances are production and stay"}
		}
		if s.Cleanup.Requested {
			return errSkip
		}
		return nil // asked before the end, it is carried out at the end
	})
}

// ScheduleCleanup records that a drill's instances are to be cleaned up
// after the execution ends: at its end plus after. Whoever drives the
// execution then (this run, or `exec resume` after a crash or a Ctrl-C)
// carries it out.
func (e *Engine) ScheduleCleanup(ctx context.Context, id, actor string, after time.Duration) error {
	return e.control(ctx, id, actor, EvCleanupScheduled, CleanupScheduled{After: after}, func(s *State) error {
		if s.Spec.Mode != ripcord.ModeDrill {
			return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("execution %s is a %s, not a drill", id, s.Spec.Mode),
				Hint: "only drills are cleaned up"}
		}
		if s.Cleanup.Requested {
			return errSkip
		}
		return nil
	})
}

// ownInstances lists, by target, every recovery instance this execution's
// jobs reported for its servers (every attempt's, not only the last).
func (s *State) ownInstances() map[string][]string {
	out := map[string][]string{}
	for _, st := range s.Steps {
		for _, sv := range st.Servers {
			seen := map[string]bool{}
			add := func(id string) {
				if id != "" && !seen[id] {
					seen[id] = true
					out[sv.Target] = append(out[sv.Target], id)
				}
			}
			add(sv.InstanceID)
			for _, a := range sv.History {
				add(a.InstanceID)
			}
		}
	}
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out
}

// ownJobIDs is the set of this execution's launch jobs.
func (s *State) ownJobIDs() map[string]bool {
	out := map[string]bool{}
	for _, b := range s.Batches {
		if !b.Terminate && b.JobID != "" {
			out[b.JobID] = true
		}
	}
	return out
}

// driveCleanup terminates this execution's drill instances and verifies
// with DescribeRecoveryInstances that they are gone. Before asking, it
// checks each instance with DRS: only a drill instance launched by one of
// this execution's own jobs is terminated. An instance DRS no longer knows,
// already terminated, or replaced by a later drill counts as cleaned up;
// one launched by another job is left alone. Both are recorded.
func (r *run) driveCleanup() error {
	s := r.s
	if !s.Cleanup.Requested || s.Cleanup.Done || r.anyLaunchOpen() || s.Spec.Mode != ripcord.ModeDrill {
		return nil
	}
	// First, follow the TERMINATE jobs asked for.
	busy := false
	for _, id := range sortedKeys(s.Batches) {
		b := s.Batches[id]
		if !b.Terminate || b.Refused {
			continue
		}
		if b.Unclear || b.JobID == "" {
			busy = true
			if err := r.reconcileTerminate(b); err != nil {
				return err
			}
			continue
		}
		if j, ok := r.jobs[b.JobID]; ok && !j.Active() {
			continue
		}
		api, err := r.api(b.Target)
		if err != nil {
			return err
		}
		jobs, err := api.DescribeJobs(r.ctx, []string{b.JobID})
		r.heard(b.Target, err)
		if err != nil {
			return r.drsFailed(b.Target, "DescribeJobs (cleanup)", err)
		}
		for _, j := range jobs {
			r.jobs[j.ID] = j
			if j.Active() {
				busy = true
			}
		}
	}
	if busy {
		return nil
	}
	// Then look at every instance: gone, not ours, or still to go.
	ours := s.ownJobIDs()
	var gone, notOurs []string
	terminated := map[string]bool{}
	for _, b := range s.Batches {
		if b.Terminate && b.JobID != "" {
			for _, id := range b.Servers {
				terminated[id] = true
			}
		}
	}
	minutes, total := 0.0, 0
	for target, ids := range s.ownInstances() {
		api, err := r.api(target)
		if err != nil {
			return err
		}
		left, err := api.ListRecoveryInstances(r.ctx, ids, nil)
		r.heard(target, err)
		if err != nil {
			return r.drsFailed(target, "DescribeRecoveryInstances (cleanup)", err)
		}
		byID := map[string]ripcord.RecoveryInstance{}
		for _, in := range left {
			byID[in.ID] = in
		}
		var todo []string
		for _, id := range ids {
			in, known := byID[id]
			switch {
			case !known || in.EC2State == "TERMINATED" || in.EC2State == "NOT_FOUND":
				if terminated[id] {
					total++
					minutes += r.instanceMinutes(id)
				} else {
					gone = append(gone, id) // terminated, replaced or removed before we got to it
				}
			case !ours[in.JobID] || !in.IsDrill:
				notOurs = append(notOurs, fmt.Sprintf("%s (launched by job %s, drill %v)", id, in.JobID, in.IsDrill))
			default:
				todo = append(todo, id)
			}
		}
		for len(todo) > 0 {
			n := min(len(todo), 200)
			if err := r.terminateBatch(target, todo[:n]); err != nil {
				return err
			}
			todo = todo[n:]
			busy = true
		}
	}
	if busy {
		return nil
	}
	slices.Sort(gone)
	slices.Sort(notOurs)
	return r.record(r.ev(EvCleanupFinished, CleanupFinished{Instances: total, InstanceMinutes: minutes, AlreadyGone: gone, NotOurs: notOurs}))
}

// instanceMinutes is how long an instance ran, on the engine's clock: from
// when the engine saw it LAUNCHED until cleanup verified it gone (both
// readings of the same clock, so the figure never mixes DRS's clock with
// ours; it overstates by at most one poll interval at each end).
func (r *run) instanceMinutes(id string) float64 {
	return InstanceMinutes(r.s.InstanceLaunched(id), r.now())
}

// InstanceMinutes is how long an instance ran from launched to end, in
// minutes: zero when it never launched or end is not after launched.
func InstanceMinutes(launched, end time.Time) float64 {
	if launched.IsZero() || end.Before(launched) {
		return 0
	}
	return end.Sub(launched).Minutes()
}

// terminateBatch records the intent, then asks DRS to terminate ids, as one
// mutation (see launchBatch).
func (r *run) terminateBatch(target string, ids []string) error {
	id := fmt.Sprintf("t%d", r.s.nextBatch+1)
	if err := r.record(r.ev(EvTerminateRequested, TerminateRequested{Batch: id, Target: target, Instances: ids, DRSTime: r.drsTime(target)})); err != nil {
		return err
	}
	if h := r.e.cfg.Hooks.DuringCleanup; h != nil {
		if err := h(); err != nil {
			return err
		}
	}
	return r.mutation(func() error {
		job, err := r.e.cfg.Targets[target].TerminateRecoveryInstances(r.ctx, ids)
		r.heard(target, err)
		if err == nil {
			r.jobs[job.ID] = job
			return r.record(r.ev(EvTerminateJob, JobCreated{Batch: id, JobID: job.ID, Created: job.Created}))
		}
		switch ripcord.Classify(err) {
		case ripcord.ClassPermanent:
			if ripcord.ErrorCode(err) == ripcord.ENOTFOUND {
				// An instance went (replaced by a later drill, say)
				// between the check and the call: look again.
				return r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: refusalCode(err), Error: err.Error()}))
			}
			if err := r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: refusalCode(err), Error: err.Error()})); err != nil {
				return err
			}
			return r.pauseFor(fmt.Sprintf("cleanup: TerminateRecoveryInstances in target %s refused: %v", target, err), remedyOf(err))
		case ripcord.ClassTransient:
			if isUnclear(err) {
				return r.record(r.ev(EvTerminateUnclear, LaunchUnclear{Batch: id, Error: err.Error()}))
			}
			if err := r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: refusalCode(err), Error: err.Error()})); err != nil {
				return err
			}
			return r.outageSeen(target, "TerminateRecoveryInstances", err)
		}
		// conflict, quota, throttling: nothing happened; ask again later.
		return r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: id, Code: refusalCode(err), Error: err.Error()}))
	})
}

// reconcileTerminate settles a TERMINATE batch whose outcome is unknown: it
// adopts the TERMINATE job that holds its instances, or else gives the
// batch up, and the instances are checked and asked for again.
func (r *run) reconcileTerminate(b *Batch) error {
	api, err := r.api(b.Target)
	if err != nil {
		return err
	}
	jobs, err := api.JobsCreatedSince(r.ctx, b.since().Add(-reconcileWindow))
	r.heard(b.Target, err)
	if err != nil {
		return r.drsFailed(b.Target, "DescribeJobs (reconcile cleanup)", err)
	}
	if j, ok := ownJob(jobs, r.s.ID, b); ok {
		r.jobs[j.ID] = j
		return r.record(r.ev(EvTerminateJob, JobCreated{Batch: b.ID, JobID: j.ID, Created: j.Created}))
	}
	return r.record(r.ev(EvLaunchRefused, LaunchRefused{Batch: b.ID, Code: "UNCLEAR", Error: "no TERMINATE job found for an unclear TerminateRecoveryInstances"}))
}

// anyLaunchOpen reports whether a launch of this execution may still create
// or change an instance.
func (r *run) anyLaunchOpen() bool {
	for _, b := range r.s.Batches {
		if b.Terminate {
			continue
		}
		if b.Unclear || (b.JobID == "" && !b.Refused) {
			return true
		}
		if st := r.s.Steps[b.Step]; st != nil {
			for _, id := range b.Servers {
				if sv := st.Servers[id]; sv != nil && sv.Batch == b.ID && (sv.Status == srvRequested || sv.Status == srvLaunching) {
					return true
				}
			}
		}
	}
	return false
}
