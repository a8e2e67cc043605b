package engine

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// DefaultJobHorizon is how far back the first look at a target's jobs
// reaches, unless Config.JobHorizon says otherwise.
const DefaultJobHorizon = 24 * time.Hour

// jobView is what the engine knows of one target's jobs. Every execution
// this engine drives in the target shares it, so that one DescribeJobs
// listing per pass serves them all: their own jobs' progress, the jobs that
// block their servers and the jobs that use up the target's quotas.
//
// DRS lists jobs newest first and has no status filter, so reading every
// active job means reading every job ever run in the region, which grows
// with history without bound (docs/drs.md §7). The view reads history once,
// back to a horizon, and afterwards only a window: the jobs created since
// the previous listing, or since the oldest job it still knows to be
// active, if that is older and at most an hour older (fromDate); older
// active jobs are read by ID. Jobs created before the window are either
// known and completed (they cannot start again) or known and active (the
// window reaches back to them, or they are read by ID). The window is counted on DRS's own
// clock (the Date of its answers, as the adapter keeps it), so a clock of
// ripcord's that disagrees with DRS's cannot shift it; the adapter's own
// margins cover the Date header's one-second resolution.
//
// A job older than the horizon that is still active is the one thing the
// view cannot see. DRS itself is the arbiter there: a StartRecovery that
// includes its servers is refused (ConflictException) or runs into the
// quota (ServiceQuotaExceededException), and either refusal makes the next
// listing read the whole history (forceFull), after which the job is known
// like any other.
type jobView struct {
	mu sync.Mutex
	// jobs are the jobs known: those of the last listing's window, those
	// active, and those asked for by ID.
	jobs map[string]ripcord.Job
	// mark is the DRS time of the last listing (zero: never listed).
	mark time.Time
	// listed is the engine clock's time when the last listing began;
	// a pass that began before it may use it instead of listing again.
	listed time.Time
	// full makes the next listing read every page of history.
	full bool
	// listings counts listings, by kind, for tests and the bench.
	listings map[string]int
}

func (e *Engine) viewOf(target string) *jobView {
	v, _ := e.views.LoadOrStore(target, &jobView{jobs: map[string]ripcord.Job{}, listings: map[string]int{}})
	return v.(*jobView)
}

// refresh brings the view up to date with one listing, unless a listing
// began at or after since (the caller's pass began then): then what it
// read is as new as the caller needs.
func (e *Engine) refreshView(ctx context.Context, target string, since time.Time) error {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.listed.IsZero() && !v.listed.Before(since) {
		return nil
	}
	api := e.cfg.Targets[target]
	began := e.cfg.Clock.Now()
	var from time.Time // zero: all of history
	var old []string   // active jobs too old for the window: read by ID
	kind := "full"
	if !v.full && (!v.mark.IsZero() || e.cfg.JobHorizon > 0) {
		switch {
		case v.mark.IsZero():
			kind, from = "horizon", drsNow(api, began).Add(-e.cfg.JobHorizon)
		default:
			kind, from = "window", v.mark
			reach := v.mark.Add(-windowReach)
			for _, j := range v.jobs {
				switch {
				case !j.Active() || !j.Created.Before(from):
				case j.Created.Before(reach):
					old = append(old, j.ID)
				default:
					from = j.Created
				}
			}
		}
	}
	jobs, err := api.JobsCreatedSince(ctx, from)
	if err == nil && len(old) > 0 {
		var byID []ripcord.Job
		byID, err = api.DescribeJobs(ctx, old)
		jobs = append(jobs, byID...)
	}
	if err != nil {
		return err
	}
	v.listings[kind]++
	v.listed, v.mark, v.full = began, drsNow(api, began), false
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		seen[j.ID] = true
		v.jobs[j.ID] = j
	}
	// A known job inside the window, or read by ID, that DRS no longer
	// shows was deleted; a completed one outside it no longer matters.
	for id, j := range v.jobs {
		if !seen[id] && (!j.Created.Before(from) || !j.Active() || slices.Contains(old, id)) {
			delete(v.jobs, id)
		}
	}
	return nil
}

// windowReach is how far before the last listing a window may reach back
// to cover a job still active; an active job older than that (a blocker
// running for hours) is read by ID instead, so that a long-running job does
// not make every window re-read hours of other jobs.
const windowReach = time.Hour

// drsNow is DRS's latest time as api knows it, or the engine's.
func drsNow(api ripcord.DRS, engineNow time.Time) time.Time {
	if c, ok := api.(serverClock); ok {
		if t, ok := c.ServerTime(); ok {
			return t
		}
	}
	return engineNow
}

// lookUp reads the jobs of ids the view does not know (after a restart:
// the jobs an execution recorded) by ID, and adds them.
func (e *Engine) lookUp(ctx context.Context, target string, ids []string) error {
	v := e.viewOf(target)
	v.mu.Lock()
	var missing []string
	for _, id := range ids {
		if _, ok := v.jobs[id]; !ok {
			missing = append(missing, id)
		}
	}
	v.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	jobs, err := e.cfg.Targets[target].DescribeJobs(ctx, missing)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.listings["by-id"]++
	for _, j := range jobs {
		v.jobs[j.ID] = j
	}
	return nil
}

// noteJob puts a job DRS just answered with (a StartRecovery's, an adopted
// one) into the view, so that every execution counts it at once.
func (e *Engine) noteJob(target string, j ripcord.Job) {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.jobs[j.ID]; ok && old.Status != j.Status && !j.Active() {
		return // never go back from what a listing said
	}
	v.jobs[j.ID] = j
}

// forceFull makes the target's next listing read all of history: DRS
// refused a launch for a conflict or the quota, so a job the view does not
// know may hold servers (one older than the horizon).
func (e *Engine) forceFull(target string) {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.full = true
	v.listed = time.Time{}
}

// relist makes the target's next look list the jobs created since the
// last listing, even when its poll is not due: another process launched
// there.
func (e *Engine) relist(target string) {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.listed = time.Time{}
}

// listedAt is when the target's last listing began (engine clock).
func (e *Engine) listedAt(target string) time.Time {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.listed
}

// viewStale reports whether the target's view must be listed before it is
// used: it never was, or a refusal asked for a full listing.
func (e *Engine) viewStale(target string) bool {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.full || v.listed.IsZero()
}

// activeJobs returns the target's active jobs as the view knows them,
// oldest first.
func (e *Engine) activeJobs(target string) []ripcord.Job {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []ripcord.Job
	for _, j := range v.jobs {
		if j.Active() {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b ripcord.Job) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// knownJob returns the view's latest copy of a job.
func (e *Engine) knownJob(target, id string) (ripcord.Job, bool) {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	j, ok := v.jobs[id]
	return j, ok
}

// JobListings counts the listings made of a target's jobs, by kind:
// "horizon" (the first), "window" (jobs since the last listing), "full"
// (all history, after a refusal) and "by-id".
func (e *Engine) JobListings(target string) map[string]int {
	v := e.viewOf(target)
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]int{}
	for k, n := range v.listings {
		out[k] = n
	}
	return out
}
