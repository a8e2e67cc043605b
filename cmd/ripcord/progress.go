package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// progress prints an execution's progress: a line per change of a step, a
// line when DRS starts failing in a target (and each time its attempt count
// changes) and when it answers again, and the reason and remedy when the
// execution pauses.
type progress struct {
	out     io.Writer
	last    map[string]string
	outages map[string]int // target -> attempts last printed
	pause   string         // reason and remedy last printed
	at      time.Time      // the latest change seen: stamps never go back
}

func newProgress(out io.Writer) *progress {
	return &progress{out: out, last: map[string]string{}, outages: map[string]int{}}
}

// onChange is the engine's OnChange: it is called after each pass that
// recorded something and after every pass while DRS fails.
func (p *progress) onChange(s *engine.State) {
	if latest := latestChange(s); latest.After(p.at) {
		p.at = latest
	}
	stamp := progressStamp(s, p.at)
	for _, name := range s.Order {
		line := stepLine(s, s.Steps[name])
		if p.last[name] == line {
			continue
		}
		p.last[name] = line
		fmt.Fprintf(p.out, "[%s] %s\n", stamp, line)
	}
	for _, t := range sortedStrings(s.Outages) {
		o := s.Outages[t]
		if n, seen := p.outages[t]; seen && n == o.Attempts {
			continue
		}
		p.outages[t] = o.Attempts
		fmt.Fprintf(p.out, "[%s] %s; still trying\n", stamp, outageWords(o))
	}
	for _, t := range sortedStrings(p.outages) {
		if s.Outages[t] == nil {
			delete(p.outages, t)
			fmt.Fprintf(p.out, "[%s] DRS in target %s answers again\n", stamp, t)
		}
	}
	if !s.Paused {
		p.pause = ""
		return
	}
	reason, remedy := pauseWords(s)
	if key := reason + "\n" + remedy; key != p.pause {
		p.pause = key
		fmt.Fprintf(p.out, "[%s] execution paused: %s\n", stamp, reason)
		fmt.Fprintf(p.out, "    remedy: %s\n", remedy)
	}
}

// pauseWords says why a paused execution is paused and what to do.
func pauseWords(s *engine.State) (reason, remedy string) {
	reason, remedy = s.PauseReason, s.PauseRemedy
	if reason == "" {
		reason = "no reason recorded"
	}
	if remedy == "" {
		remedy = "resume it with: ripcord exec resume " + s.ID
		if s.PausedFor != "" {
			remedy = fmt.Sprintf("retry the step with: ripcord exec retry %s %s, skip it with: ripcord exec skip %s %s, or cancel: ripcord exec cancel %s",
				s.ID, s.PausedFor, s.ID, s.PausedFor, s.ID)
		}
	}
	return reason, remedy
}

// progressStamp is "elapsed" or "elapsed of RTO target": the time from the
// execution's start to at, the latest change seen.
func progressStamp(s *engine.State, at time.Time) string {
	if at.Before(s.Started) {
		at = s.Started
	}
	stamp := at.Sub(s.Started).Round(time.Second).String()
	if t := s.Spec.Settings.RTOTarget; t > 0 {
		stamp += fmt.Sprintf(" of RTO %s", t)
	}
	return stamp
}

// outageWords says what fails in a target, since when, how often, and the
// last error.
func outageWords(o *engine.Outage) string {
	return fmt.Sprintf("DRS in target %s failing since %s (%s, %s): %s", o.Target, utc(o.Since), o.Op, count(o.Attempts, "attempt"), o.Error)
}

// latestChange is the time of the most recent step, server or outage change.
func latestChange(s *engine.State) time.Time {
	var t time.Time
	later := func(x time.Time) {
		if x.After(t) {
			t = x
		}
	}
	for _, st := range s.Steps {
		later(st.Started)
		later(st.Ended)
		for _, sv := range st.Servers {
			later(sv.LaunchedAt)
		}
	}
	for _, o := range s.Outages {
		later(o.Since)
	}
	return t
}

// stepLine describes a step: its status and, for launch steps, how many
// servers are pending, in progress, launched and failed, and what blocks them.
func stepLine(s *engine.State, st *engine.StepState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %-10s %-9s", st.Spec.Name, stepStatus(st))
	if st.Spec.Kind == ripcord.StepWait {
		fmt.Fprintf(&b, " wait %s", st.Spec.Duration)
		return b.String()
	}
	c := countServers(st)
	fmt.Fprintf(&b, " pending %d, in progress %d, launched %d, failed %d", c.Pending, c.InProgress, c.Launched, c.Failed)
	blockers := map[string][]string{}
	for id, job := range st.Blockers {
		blockers[job] = append(blockers[job], id)
	}
	for _, job := range sortedStrings(blockers) {
		fmt.Fprintf(&b, "; %d blocked by job %s", len(blockers[job]), job)
	}
	if st.Reason != "" {
		fmt.Fprintf(&b, "; %s", st.Reason)
	}
	return b.String()
}

func stepStatus(st *engine.StepState) string { return st.Status }

type serverCounts struct {
	Pending    int `json:"pending"`
	InProgress int `json:"in_progress"`
	Launched   int `json:"launched"`
	Failed     int `json:"failed"`
}

func countServers(st *engine.StepState) serverCounts {
	var c serverCounts
	for _, sv := range st.Servers {
		switch sv.Status {
		case "LAUNCHED":
			c.Launched++
		case "FAILED":
			c.Failed++
		case "PENDING":
			c.Pending++
		default:
			c.InProgress++
		}
	}
	return c
}

func sortedStrings[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// execSummary is the end-of-run report, for people and for --output json
// (run, exec resume, exec watch, cleanup, and the "summary" of exec show).
// Its digest (verdict, exceptions, totals, cleanup, outages, DRS calls) is
// engine.State.Summarize's.
type execSummary struct {
	ID       string `json:"id"`
	Plan     string `json:"plan"`
	PlanHash string `json:"plan_hash"`
	Mode     string `json:"mode"`
	State    string `json:"state"`
	// Verdict is the state, except that a succeeded execution with
	// exceptions is "succeeded with exceptions".
	Verdict    string   `json:"verdict"`
	Exceptions []string `json:"exceptions,omitempty"`
	// Reason is why it failed or paused; Remedy what to do about a pause.
	Reason       string    `json:"reason,omitempty"`
	Remedy       string    `json:"remedy,omitempty"`
	Started      time.Time `json:"started"`
	Ended        time.Time `json:"ended,omitzero"`
	RTOTargetS   float64   `json:"rto_target_s,omitempty"`
	RTOMeasuredS float64   `json:"rto_measured_s,omitempty"`
	// Servers of every launch step, Launched and Failed among them.
	Servers  int `json:"servers"`
	Launched int `json:"launched"`
	Failed   int `json:"failed"`
	// OptionalFailed are optional servers that failed ("ID (step S): why").
	OptionalFailed []string `json:"optional_failed,omitempty"`
	// Skipped are the skipped steps ("step: why").
	Skipped []string `json:"skipped,omitempty"`
	// Outages are the targets where DRS keeps failing, in words.
	Outages []string      `json:"outages,omitempty"`
	Steps   []stepSummary `json:"steps"`
	// APICalls is the DRS requests of every driver of the execution, as
	// their DriverStopped events recorded them; Drivers how many drove it.
	APICalls     int64 `json:"drs_api_calls"`
	Drivers      int   `json:"drivers"`
	BlockedWaits int   `json:"launches_that_waited_for_other_jobs"`
	Refused      int   `json:"launches_refused_by_drs"`
	// Cleanup is "", "scheduled", "requested", "failed" (CleanupFailed
	// says why; ripcord keeps trying) or "done"; CleanupDue is when a
	// scheduled one is due (zero until the drill ends).
	Cleanup         string        `json:"cleanup,omitempty"`
	CleanupDue      time.Time     `json:"cleanup_due,omitzero"`
	CleanupFailed   string        `json:"cleanup_failed,omitempty"`
	CleanupAfter    time.Duration `json:"-"`
	CleanupDone     bool          `json:"cleanup_verified"`
	CleanupInstance int           `json:"cleanup_instances,omitempty"`
	InstanceMinutes float64       `json:"instance_minutes,omitempty"`
	// CleanupAlreadyGone were gone before the cleanup reached them
	// (counted as cleaned up); CleanupNotOurs were not launched by this
	// execution and were left alone.
	CleanupAlreadyGone []string `json:"cleanup_already_gone,omitempty"`
	CleanupNotOurs     []string `json:"cleanup_not_ours,omitempty"`
}

type stepSummary struct {
	Name     string       `json:"name"`
	Kind     string       `json:"kind"`
	Status   string       `json:"status"`
	Started  time.Time    `json:"started,omitzero"`
	Ended    time.Time    `json:"ended,omitzero"`
	Duration float64      `json:"duration_s,omitempty"`
	Servers  serverCounts `json:"servers"`
	Reason   string       `json:"reason,omitempty"`
	// SkippedBy is the person who skipped the step, SkippedAfter the
	// status it had then.
	SkippedBy    string `json:"skipped_by,omitempty"`
	SkippedAfter string `json:"skipped_after,omitempty"`
}

// summarize digests an execution for printSummary. The DRS call count is
// the log's (State.DRSCalls, recorded by every driver when it stops), which
// includes the caller's own driver once Run has returned; the last
// argument is not used (drive and demo still pass one).
func summarize(ctx context.Context, store ripcord.Store, s *engine.State) execSummary {
	evs, err := store.Events(ctx, s.ID, 0, 0)
	if err != nil {
		evs = nil // the counts of waits and refusals are left out
	}
	return summarizeEvents(s, evs)
}

// summarizeEvents is summarize for an execution whose events are at hand
// (all of them: read from the store, or through a server's API).
func summarizeEvents(s *engine.State, evs []ripcord.Event) execSummary {
	d := s.Summarize(0)
	sum := execSummary{ID: s.ID, Plan: s.Spec.Plan, PlanHash: s.Spec.PlanHash, Mode: string(s.Spec.Mode), State: string(s.State),
		Verdict: d.Verdict, Exceptions: d.Exceptions, Reason: d.Reason, Remedy: d.Remedy,
		Started: s.Started, Ended: s.Finished, Servers: d.Servers, Launched: d.Launched, Failed: d.Failed,
		OptionalFailed: d.OptionalFailed, Skipped: d.Skipped,
		APICalls: d.DRSCalls, Drivers: s.Drivers,
		Cleanup: d.Cleanup, CleanupDue: d.CleanupDue, CleanupFailed: d.CleanupFailed, CleanupAfter: s.Cleanup.After,
		CleanupDone: s.Cleanup.Done, CleanupInstance: s.Cleanup.Instances, InstanceMinutes: s.Cleanup.Minutes,
		CleanupAlreadyGone: s.Cleanup.AlreadyGone, CleanupNotOurs: s.Cleanup.NotOurs}
	if sum.Reason == "" && s.State != ripcord.ExecSucceeded {
		sum.Reason = s.Reason
	}
	if s.Paused {
		sum.Reason, sum.Remedy = pauseWords(s)
	}
	for _, t := range sortedStrings(s.Outages) {
		sum.Outages = append(sum.Outages, outageWords(s.Outages[t]))
	}
	if t := s.Spec.Settings.RTOTarget; t > 0 {
		sum.RTOTargetS = t.Seconds()
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		ss := stepSummary{Name: name, Kind: string(st.Spec.Kind), Status: st.Status, Started: st.Started, Ended: st.Ended,
			Servers: countServers(st), Reason: st.Reason}
		if st.Manual {
			ss.SkippedBy, ss.SkippedAfter = st.SkippedBy, st.SkippedAfter
		}
		if !st.Ended.IsZero() && !st.Started.IsZero() {
			ss.Duration = st.Ended.Sub(st.Started).Seconds()
		}
		sum.Steps = append(sum.Steps, ss)
	}
	if rto := s.RecoveryTime(); rto.Complete() {
		sum.RTOMeasuredS = rto.Measured.Seconds()
	}
	countWaits(&sum, evs)
	return sum
}

// countWaits counts the launches that waited for other jobs and those DRS
// refused.
func countWaits(sum *execSummary, evs []ripcord.Event) {
	for _, ev := range evs {
		switch ev.Type {
		case engine.EvServersBlocked:
			sum.BlockedWaits++
		case engine.EvLaunchRefused:
			sum.Refused++
		}
	}
}

func printSummary(out io.Writer, sum execSummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(out, "\nExecution %s: plan %s (%s), %s\n", sum.ID, sum.Plan, sum.Mode, strings.ToUpper(sum.Verdict))
	totals := fmt.Sprintf("%d of %d servers launched", sum.Launched, sum.Servers)
	if sum.Failed > 0 {
		totals += fmt.Sprintf(", %d failed", sum.Failed)
	}
	fmt.Fprintf(out, "  %s\n", totals)
	if len(sum.Exceptions) > 0 {
		fmt.Fprintln(out, "  exceptions (why it did not plainly succeed):")
		for _, e := range sum.Exceptions {
			fmt.Fprintf(out, "    - %s\n", e)
		}
	}
	switch sum.State {
	case string(ripcord.ExecPaused):
		fmt.Fprintf(out, "  paused: %s\n", sum.Reason)
		fmt.Fprintf(out, "  remedy: %s\n", sum.Remedy)
	default:
		if sum.Reason != "" {
			fmt.Fprintf(out, "  reason: %s\n", sum.Reason)
		}
	}
	if len(sum.Outages) > 0 {
		fmt.Fprintln(out, "  DRS outages in progress:")
		for _, o := range sum.Outages {
			fmt.Fprintf(out, "    - %s\n", o)
		}
	}
	nameW, statusW := len("step"), len("succeeded")
	statuses := make([]string, len(sum.Steps))
	manual := map[string]bool{}
	for i, st := range sum.Steps {
		statuses[i] = st.Status
		if st.SkippedBy != "" {
			manual[st.Name] = true
			statuses[i] = "skipped by " + st.SkippedBy
			if st.SkippedAfter != "" {
				statuses[i] += " after " + st.SkippedAfter
			}
		}
		nameW, statusW = max(nameW, len(st.Name)), max(statusW, len(statuses[i]))
	}
	fmt.Fprintf(out, "  %-*s  %-*s  %-9s %-10s %-9s %s\n", nameW, "step", statusW, "status", "started", "duration", "launched", "failed")
	for i, st := range sum.Steps {
		d, started := "-", "-"
		if st.Duration > 0 {
			d = (time.Duration(st.Duration * float64(time.Second))).Round(time.Second).String()
		}
		if !st.Started.IsZero() {
			started = "+" + st.Started.Sub(sum.Started).Round(time.Second).String()
		}
		fmt.Fprintf(out, "  %-*s  %-*s  %-9s %-10s %-9d %d\n", nameW, st.Name, statusW, statuses[i], started, d, st.Servers.Launched, st.Servers.Failed)
	}
	// Steps a person skipped are among the exceptions already; the others
	// (skipped because a step they depend on failed) are listed here.
	var skipped []string
	for _, s := range sum.Skipped {
		if name, _, _ := strings.Cut(s, ": "); !manual[name] {
			skipped = append(skipped, s)
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintln(out, "  skipped steps:")
		for _, s := range skipped {
			fmt.Fprintf(out, "    - %s\n", s)
		}
	}
	if len(sum.OptionalFailed) > 0 {
		fmt.Fprintln(out, "  optional servers that failed:")
		for _, s := range sum.OptionalFailed {
			fmt.Fprintf(out, "    - %s\n", s)
		}
	}
	if sum.RTOMeasuredS > 0 {
		verdict := ""
		if sum.RTOTargetS > 0 {
			verdict = " (target " + (time.Duration(sum.RTOTargetS) * time.Second).String()
			if sum.RTOMeasuredS <= sum.RTOTargetS {
				verdict += ": met)"
			} else {
				verdict += ": MISSED)"
			}
		}
		fmt.Fprintf(out, "  RTO measured: %s%s\n", (time.Duration(sum.RTOMeasuredS) * time.Second).String(), verdict)
	}
	fmt.Fprintf(out, "  DRS API calls: %d (%s); launches that waited for another job instead of failing: %d; launches DRS refused: %d\n",
		sum.APICalls, count(sum.Drivers, "driver"), sum.BlockedWaits, sum.Refused)
	if line := cleanupWords(sum); line != "" {
		fmt.Fprintf(out, "  cleanup: %s\n", line)
	}
	if sum.CleanupDone {
		if len(sum.CleanupAlreadyGone) > 0 {
			fmt.Fprintf(out, "    already gone before the cleanup reached them (counted as cleaned up): %s\n", strings.Join(sum.CleanupAlreadyGone, ", "))
		}
		if len(sum.CleanupNotOurs) > 0 {
			fmt.Fprintf(out, "    not launched by this execution, left alone: %s\n", strings.Join(sum.CleanupNotOurs, ", "))
		}
	}
	return nil
}

// cleanupWords says where a drill's cleanup stands, or "" when there is
// none to speak of.
func cleanupWords(sum execSummary) string {
	switch sum.Cleanup {
	case "done":
		return fmt.Sprintf("%d drill instances terminated and verified gone (%.0f instance-minutes)", sum.CleanupInstance, sum.InstanceMinutes)
	case "requested":
		return "requested, not finished yet; ripcord exec resume " + sum.ID + " carries it out"
	case "failed":
		return "FAILED: " + sum.CleanupFailed + "; the drill's instances are still running. Once that is fixed, ripcord serve tries again on its own, or run ripcord exec resume " + sum.ID
	case "scheduled":
		if !sum.CleanupDue.IsZero() {
			return "due " + sum.CleanupDue.UTC().Format(time.RFC3339) + "; the process driving the execution, or ripcord exec resume " + sum.ID + ", carries it out"
		}
		if sum.CleanupAfter > 0 {
			return fmt.Sprintf("scheduled %s after the drill ends", sum.CleanupAfter)
		}
		return "scheduled"
	}
	return ""
}
