package bench

import (
	"time"

	"github.com/ripcord-dr/ripcord/drssim"
)

// serverKey is a source server in a target.
type serverKey struct{ target, id string }

// launch is what the model shows about one plan server.
type launch struct {
	launched   bool
	finished   time.Time // LAUNCHED at
	jobCreated time.Time // the launching job's creation
	free       time.Time // when the scenario job holding it at the start ended
}

// measure reads the run's outcome from the simulator's model and computes
// the row's numbers (see the package documentation).
func (w *world) measure() Row {
	view := w.sim.State(drssim.StateFilter{})
	info := map[serverKey]*launch{}
	for _, wv := range w.waves {
		for _, s := range wv.servers {
			info[serverKey{s.target, s.id}] = &launch{free: start}
		}
	}
	jobs := 0
	for _, rv := range view.Regions {
		target := w.targetOf[rv.Account+"/"+rv.Region]
		for _, j := range rv.Jobs {
			// The scenario's jobs (the lingering TERMINATE job, history)
			// are not the strategy's; those still active at the start
			// hold their servers until they end.
			if j.Foreign || j.Created.Before(start) {
				if j.Created.After(start) {
					continue // made by a fault during the run
				}
				end := j.Ended
				if end.IsZero() {
					end = view.Now
				}
				for _, ps := range j.Servers {
					if l := info[serverKey{target, ps.SourceServerID}]; l != nil && end.After(l.free) {
						l.free = end
					}
				}
				continue
			}
			if j.Type != "LAUNCH" {
				continue
			}
			jobs++
			for _, ps := range j.Servers {
				l := info[serverKey{target, ps.SourceServerID}]
				if l == nil || ps.LaunchStatus != "LAUNCHED" {
					continue
				}
				if !l.launched || ps.Finished.Before(l.finished) {
					l.launched, l.finished, l.jobCreated = true, ps.Finished, j.Created
				}
			}
		}
	}

	row := Row{Servers: w.servers}
	row.Detail.LaunchJobs = jobs
	row.Detail.Calls = view.Requests
	var calls int64
	for _, n := range view.Requests {
		calls += n
	}
	row.APICallsPerServer = round(float64(calls)/float64(w.servers), 2)

	// Failures: not launched, or launched before the previous wave was up.
	// Start delays: how long after it could have started each wave's
	// first job was created.
	var last time.Time
	prevUp := start
	prevDown := false
	for k, wv := range w.waves {
		up, down := time.Time{}, false
		ready, first := prevUp, time.Time{}
		for _, s := range wv.servers {
			l := info[serverKey{s.target, s.id}]
			if l.free.After(ready) {
				ready = l.free
			}
			if l.launched && (first.IsZero() || l.jobCreated.Before(first)) {
				first = l.jobCreated
			}
			if !l.launched {
				row.Detail.NotLaunched++
				down = true
				continue
			}
			if l.finished.After(up) {
				up = l.finished
			}
			if l.finished.After(last) {
				last = l.finished
			}
			if k > 0 && (prevDown || l.jobCreated.Before(prevUp)) {
				row.Detail.OrderViolations++
			}
		}
		if !first.IsZero() {
			row.Detail.StartDelays = append(row.Detail.StartDelays, first.Sub(ready))
		}
		prevUp, prevDown = up, down
	}
	row.Failures = row.Detail.NotLaunched + row.Detail.OrderViolations
	if !last.IsZero() {
		row.MakespanS = round(last.Sub(start).Seconds(), 3)
	}

	// The lower bound: the critical path through the drawn durations,
	// wave by wave, or the quota bound when that is larger; and the same
	// with the old quota bound.
	eL := expectedLongest(rangesOf(w.sim.Durations()), drsQuotas.perJob, 4000)
	t, old, seer := start, start, start
	for _, wv := range w.waves {
		path, oldPath, seerPath := time.Time{}, time.Time{}, time.Time{}
		ds := map[string][]float64{} // target -> d(s) in seconds
		for _, s := range wv.servers {
			l := info[serverKey{s.target, s.id}]
			if !l.launched {
				continue
			}
			d := l.finished.Sub(l.jobCreated)
			if end := later(t, l.free).Add(d); end.After(path) {
				path = end
			}
			if end := later(old, l.free).Add(d); end.After(oldPath) {
				oldPath = end
			}
			if end := later(seer, l.free).Add(d); end.After(seerPath) {
				seerPath = end
			}
			ds[s.target] = append(ds[s.target], d.Seconds())
		}
		if path.IsZero() {
			continue // nothing of this wave launched
		}
		var quota, oldQuota, seerQuota float64
		for _, d := range ds {
			q := quotaBound(d, drsQuotas)
			quota = max(quota, q, blindQuotaBound(len(d), eL, drsQuotas))
			seerQuota = max(seerQuota, q)
			oldQuota = max(oldQuota, oldQuotaBound(d, drsQuotas))
		}
		if qt := t.Add(seconds(quota)); qt.After(path) {
			path = qt
			row.Detail.QuotaBound = true
		}
		if qt := old.Add(seconds(oldQuota)); qt.After(oldPath) {
			oldPath = qt
		}
		if qt := seer.Add(seconds(seerQuota)); qt.After(seerPath) {
			seerPath = qt
		}
		t, old, seer = path, oldPath, seerPath
	}
	row.Detail.OldBoundS = round(old.Sub(start).Seconds(), 3)
	row.Detail.SeerBoundS = round(seer.Sub(start).Seconds(), 3)
	row.LowerBoundS = round(t.Sub(start).Seconds(), 3)
	if row.LowerBoundS > 0 {
		row.Ratio = round(row.MakespanS/row.LowerBoundS, 4)
	}
	return row
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// seconds converts seconds to a Duration, rounding down (a lower bound
// stays one).
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
