package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Cleanup asks for an execution's drill instances to be terminated: only the
// recovery instances this execution launched, never another execution's and
// never a recovery. Run carries it out and verifies it.
func (e *Engine) Cleanup(ctx context.Context, id string) error {
	s, err := e.Load(ctx, id)
	if err != nil {
		return err
	}
	if s.Spec.Mode != ripcord.ModeDrill {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("execution %s is a %s, not a drill", id, s.Spec.Mode),
			Hint: "ripcord terminates only drill instances; recovery instances are production and stay"}
	}
	if s.Cleanup.Requested {
		return nil
	}
	_, err = e.cfg.Store.Append(ctx, id, s.LastSeq, 0, []ripcord.Event{
		newEvent(EvCleanupRequested, e.cfg.Actor, e.cfg.Clock.Now(), struct{}{})}, nil)
	return err
}

// driveCleanup terminates this execution's drill instances, follows the
// TERMINATE jobs and verifies with DescribeRecoveryInstances that they are
// gone.
func (r *run) driveCleanup() error {
	s := r.s
	if !s.Cleanup.Requested || s.Cleanup.Done || r.anyLaunchOpen() {
		return nil
	}
	if s.Spec.Mode != ripcord.ModeDrill {
		return nil
	}
	launched := s.launchedInstances()
	inBatch := map[string]*Batch{}
	for _, b := range s.Batches {
		if b.Terminate && !b.Refused {
			for _, id := range b.Servers {
				inBatch[id] = b
			}
		}
	}
	allDone := true
	for _, target := range sortedKeys(launched) {
		api := r.e.cfg.Targets[target]
		var todo []string
		for _, id := range launched[target] {
			if inBatch[id] == nil {
				todo = append(todo, id)
			}
		}
		for len(todo) > 0 {
			n := min(len(todo), 200)
			if err := r.terminateBatch(target, todo[:n]); err != nil {
				return err
			}
			todo = todo[n:]
			allDone = false
		}
		// Follow this target's TERMINATE jobs.
		var jobIDs []string
		for _, b := range s.Batches {
			if b.Terminate && b.Target == target && b.JobID != "" {
				jobIDs = append(jobIDs, b.JobID)
			}
			if b.Terminate && b.Target == target && b.Unclear {
				allDone = false
				if err := r.reconcileTerminate(b); err != nil {
					return err
				}
			}
		}
		if len(jobIDs) == 0 {
			continue
		}
		jobs, err := api.DescribeJobs(r.ctx, jobIDs)
		if err != nil {
			if isTransient(err) {
				return nil
			}
			return fmt.Errorf("describe terminate jobs in target %s: %w", target, err)
		}
		for _, j := range jobs {
			r.jobs[j.ID] = j
			if j.Active() {
				allDone = false
			}
		}
	}
	if !allDone {
		return nil
	}
	// Verify: none of the instances may still exist in DRS.
	total, minutes := 0, 0.0
	for _, target := range sortedKeys(launched) {
		ids := launched[target]
		left, err := r.e.cfg.Targets[target].ListRecoveryInstances(r.ctx, ids, nil)
		if err != nil {
			if isTransient(err) {
				return nil
			}
			return fmt.Errorf("verify cleanup in target %s: %w", target, err)
		}
		if len(left) > 0 {
			// Still there (a failed termination): request it again.
			var again []string
			for _, in := range left {
				again = append(again, in.ID)
			}
			return r.terminateBatch(target, again)
		}
		total += len(ids)
		for _, id := range ids {
			minutes += r.instanceMinutes(id, inBatch[id])
		}
	}
	return r.record(r.ev(EvCleanupFinished, cleanupFinished{Instances: total, InstanceMinutes: minutes}))
}

// instanceMinutes is how long an instance ran, on the engine's clock: from
// when the engine saw it LAUNCHED until cleanup verified it gone (both
// readings of the same clock, so the figure never mixes DRS's clock with
// ours; it overstates by at most one poll interval at each end).
func (r *run) instanceMinutes(id string, _ *Batch) float64 {
	var launched time.Time
	for _, st := range r.s.Steps {
		for _, sv := range st.Servers {
			if sv.InstanceID == id {
				launched = sv.LaunchedAt
			}
		}
	}
	end := r.now()
	if launched.IsZero() || end.Before(launched) {
		return 0
	}
	return end.Sub(launched).Minutes()
}

func (r *run) terminateBatch(target string, ids []string) error {
	id := fmt.Sprintf("t%d", r.s.nextBatch+1)
	if err := r.record(r.ev(EvTerminateRequested, terminateRequested{Batch: id, Target: target, Instances: ids})); err != nil {
		return err
	}
	if h := r.e.cfg.Hooks.DuringCleanup; h != nil {
		if err := h(); err != nil {
			return err
		}
	}
	job, err := r.e.cfg.Targets[target].TerminateRecoveryInstances(r.ctx, ids)
	switch {
	case err == nil:
		r.jobs[job.ID] = job
		return r.record(r.ev(EvTerminateJob, jobCreated{Batch: id, JobID: job.ID}))
	case isUnclear(err) || isConflict(err) || isTransient(err) || isQuota(err):
		return r.record(r.ev(EvTerminateUnclear, launchUnclear{Batch: id, Error: err.Error()}))
	default:
		return fmt.Errorf("terminate drill instances in target %s: %w", target, err)
	}
}

// reconcileTerminate settles a TERMINATE batch whose outcome is unknown: it
// adopts a TERMINATE job that holds the instances, or else retries when the
// instances are free.
func (r *run) reconcileTerminate(b *Batch) error {
	api := r.e.cfg.Targets[b.Target]
	jobs, err := api.JobsCreatedSince(r.ctx, b.Requested.Add(-2*time.Minute))
	if err != nil {
		if isTransient(err) {
			return nil
		}
		return fmt.Errorf("reconcile terminate batch %s: %w", b.ID, err)
	}
	want := map[string]bool{}
	for _, id := range b.Servers {
		want[id] = true
	}
	for _, j := range jobs {
		if j.Type != ripcord.JobTypeTerminate {
			continue
		}
		for _, ps := range j.Servers {
			if want[ps.RecoveryInstanceID] {
				r.jobs[j.ID] = j
				return r.record(r.ev(EvTerminateJob, jobCreated{Batch: b.ID, JobID: j.ID}))
			}
		}
	}
	// Not found: give the batch up; its instances are requested again.
	return r.record(r.ev(EvLaunchRefused, launchRefused{Batch: b.ID, Code: "UNCLEAR", Error: "no TERMINATE job found for an unclear TerminateRecoveryInstances"}))
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
