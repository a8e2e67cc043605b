package twin

import (
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/ripcord-dr/ripcord/drssim"
)

// Learned is what the twin's durations were drawn from: the logs of the
// account's newest completed jobs (DescribeJobLogItems). The simulator
// draws each stage of a launch uniformly from a [min, max] range
// (drssim.Durations); each range learned from at least minSamples
// observations is the observations' 10th to 90th percentile (so one
// outlier does not widen it), from fewer their min to max; a stage never
// observed keeps the simulator's default.
//
// Each stage is measured the way DRS logs it:
//
//	pending     the job's creationDateTime to its JOB_START
//	snapshot    a server's SNAPSHOT_START to SNAPSHOT_END
//	conversion  CONVERSION_START to CONVERSION_END, of Linux servers; the
//	            Windows factor is the median of Windows servers' over
//	            the median of Linux servers' (both needed)
//	launch      the job's last LAUNCH_START to its JOB_END, of jobs whose
//	            servers all LAUNCHED (DRS logs no per-server launch end)
//	cleanup     CLEANUP_START to CLEANUP_END inside a LAUNCH job (drill
//	            replacement)
//	terminate   CLEANUP_START to CLEANUP_END inside a TERMINATE job
type Learned struct {
	Ranges drssim.Durations
	// Samples counts the observations per stage (pending, snapshot,
	// conversion, windowsConversion, launch, cleanup, terminate).
	Samples map[string]int
	// JobToLaunched summarizes, over the LAUNCH jobs whose servers all
	// LAUNCHED, the time from JOB_START to JOB_END: how long the account's
	// launches took, start to every server launched.
	JobToLaunched Summary
}

// Summary is the spread of some durations.
type Summary struct {
	N                int
	Min, Median, Max time.Duration
	P10, P90         time.Duration
}

// minSamples is how many observations a range needs before its extremes
// are cut to the 10th and 90th percentiles.
const minSamples = 10

func summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(math.Round(p*float64(len(s)-1)))] }
	return Summary{N: len(s), Min: s[0], Max: s[len(s)-1], Median: q(0.5), P10: q(0.1), P90: q(0.9)}
}

// rangeOf is the [min, max] a stage's observations give, or zero (the
// default) for none.
func rangeOf(ds []time.Duration) drssim.DurRange {
	s := summarize(ds)
	switch {
	case s.N == 0:
		return drssim.DurRange{}
	case s.N >= minSamples:
		return drssim.DurRange{Min: drssim.Duration(s.P10), Max: drssim.Duration(s.P90)}
	}
	return drssim.DurRange{Min: drssim.Duration(s.Min), Max: drssim.Duration(s.Max)}
}

// learn measures the stages in the logs of jobs (by job ID); windows says
// which source servers run Windows.
func learn(jobs []types.Job, logs map[string][]types.JobLog, windows map[string]bool) Learned {
	obs := map[string][]time.Duration{}
	var toLaunched []time.Duration
	for _, j := range jobs {
		items, ok := logs[aws.ToString(j.JobID)]
		if !ok {
			continue
		}
		created, okc := parseTime(j.CreationDateTime)
		var jobStart, jobEnd, lastLaunchStart time.Time
		open := map[string]time.Time{} // stage/server/instance -> start
		for _, it := range items {
			at, ok := parseTime(it.LogDateTime)
			if !ok {
				continue
			}
			var srv, inst string
			if d := it.EventData; d != nil {
				srv, inst = aws.ToString(d.SourceServerID), aws.ToString(d.TargetInstanceID)
			}
			end := func(stage, key string) {
				if t, ok := open[key]; ok {
					obs[stage] = append(obs[stage], at.Sub(t))
					delete(open, key)
				}
			}
			switch it.Event {
			case types.JobLogEventJobStart:
				jobStart = at
			case types.JobLogEventJobEnd:
				jobEnd = at
			case types.JobLogEventSnapshotStart:
				open["snapshot/"+srv] = at
			case types.JobLogEventSnapshotEnd:
				end("snapshot", "snapshot/"+srv)
			case types.JobLogEventConversionStart:
				open["conversion/"+srv] = at
			case types.JobLogEventConversionEnd:
				stage := "conversion"
				if windows[srv] {
					stage = "windowsConversion"
				}
				end(stage, "conversion/"+srv)
			case types.JobLogEventCleanupStart:
				open["cleanup/"+srv+"/"+inst] = at
			case types.JobLogEventCleanupEnd:
				stage := "cleanup"
				if j.Type == types.JobTypeTerminate {
					stage = "terminate"
				}
				end(stage, "cleanup/"+srv+"/"+inst)
			case types.JobLogEventLaunchStart:
				if at.After(lastLaunchStart) {
					lastLaunchStart = at
				}
			}
		}
		if okc && !jobStart.IsZero() {
			obs["pending"] = append(obs["pending"], jobStart.Sub(created))
		}
		if j.Type == types.JobTypeLaunch && allLaunched(j) && !jobEnd.IsZero() {
			if !lastLaunchStart.IsZero() {
				obs["launch"] = append(obs["launch"], jobEnd.Sub(lastLaunchStart))
			}
			if !jobStart.IsZero() {
				toLaunched = append(toLaunched, jobEnd.Sub(jobStart))
			}
		}
	}
	l := Learned{Samples: map[string]int{}, JobToLaunched: summarize(toLaunched)}
	for stage, ds := range obs {
		l.Samples[stage] = len(ds)
	}
	r := &l.Ranges
	r.Pending, r.Snapshot, r.Launch = rangeOf(obs["pending"]), rangeOf(obs["snapshot"]), rangeOf(obs["launch"])
	r.Cleanup, r.Terminate = rangeOf(obs["cleanup"]), rangeOf(obs["terminate"])
	r.Conversion = rangeOf(obs["conversion"])
	if lin, win := summarize(obs["conversion"]), summarize(obs["windowsConversion"]); lin.N > 0 && win.N > 0 && lin.Median > 0 {
		r.WindowsFactor = math.Round(100*float64(win.Median)/float64(lin.Median)) / 100
	}
	return l
}

func allLaunched(j types.Job) bool {
	for _, ps := range j.ParticipatingServers {
		if ps.LaunchStatus != types.LaunchStatusLaunched {
			return false
		}
	}
	return len(j.ParticipatingServers) > 0
}

func parseTime(s *string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, aws.ToString(s))
	return t, err == nil
}

// expectedRemaining is how much longer an active job of type typ, created
// elapsed ago, is expected to run: the sum of its stages' midpoints (the
// learned ranges, else the defaults) less the time it has run, and at
// least a minute.
func expectedRemaining(typ types.JobType, elapsed time.Duration, d drssim.Durations) time.Duration {
	d = d.WithDefaults()
	mid := func(r drssim.DurRange) time.Duration { return (r.Min.D() + r.Max.D()) / 2 }
	total := mid(d.Pending) + mid(d.Terminate)
	if typ == types.JobTypeLaunch {
		total = mid(d.Pending) + mid(d.Snapshot) + mid(d.Conversion) + mid(d.Launch)
	}
	return max(total-elapsed, time.Minute).Round(time.Second)
}
