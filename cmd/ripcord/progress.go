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

// progress prints an execution's progress, one line per change of a step.
type progress struct {
	out  io.Writer
	last map[string]string
}

func newProgress(out io.Writer) *progress { return &progress{out: out, last: map[string]string{}} }

func (p *progress) onChange(s *engine.State) {
	for _, name := range s.Order {
		line := stepLine(s, s.Steps[name])
		if p.last[name] == line {
			continue
		}
		p.last[name] = line
		at := s.Started
		if latest := latestChange(s); !latest.IsZero() {
			at = latest
		}
		elapsed := at.Sub(s.Started).Round(time.Second)
		rto := ""
		if t := s.Spec.Settings.RTOTarget; t > 0 {
			rto = fmt.Sprintf(" of RTO %s", t)
		}
		fmt.Fprintf(p.out, "[%s%s] %s\n", elapsed, rto, line)
	}
}

// latestChange is the time of the most recent step or server change.
func latestChange(s *engine.State) time.Time {
	var t time.Time
	for _, st := range s.Steps {
		for _, x := range []time.Time{st.Started, st.Ended} {
			if x.After(t) {
				t = x
			}
		}
		for _, sv := range st.Servers {
			if sv.LaunchedAt.After(t) {
				t = sv.LaunchedAt
			}
		}
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

// execSummary is the end-of-run report, for people and for --output json.
type execSummary struct {
	ID              string        `json:"id"`
	Plan            string        `json:"plan"`
	PlanHash        string        `json:"plan_hash"`
	Mode            string        `json:"mode"`
	State           string        `json:"state"`
	Reason          string        `json:"reason,omitempty"`
	Started         time.Time     `json:"started"`
	Ended           time.Time     `json:"ended,omitzero"`
	RTOTargetS      float64       `json:"rto_target_s,omitempty"`
	RTOMeasuredS    float64       `json:"rto_measured_s,omitempty"`
	Steps           []stepSummary `json:"steps"`
	APICalls        int64         `json:"drs_api_calls"`
	BlockedWaits    int           `json:"launches_that_waited_for_other_jobs"`
	Refused         int           `json:"launches_refused_by_drs"`
	CleanupDone     bool          `json:"cleanup_verified"`
	CleanupInstance int           `json:"cleanup_instances,omitempty"`
	InstanceMinutes float64       `json:"instance_minutes,omitempty"`
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
}

func summarize(ctx context.Context, store ripcord.Store, s *engine.State, calls int64) execSummary {
	sum := execSummary{ID: s.ID, Plan: s.Spec.Plan, PlanHash: s.Spec.PlanHash, Mode: string(s.Spec.Mode), State: string(s.State),
		Reason: s.Reason, Started: s.Started, Ended: s.Finished, APICalls: calls,
		CleanupDone: s.Cleanup.Done, CleanupInstance: s.Cleanup.Instances, InstanceMinutes: s.Cleanup.Minutes}
	if t := s.Spec.Settings.RTOTarget; t > 0 {
		sum.RTOTargetS = t.Seconds()
	}
	var last time.Time
	for _, name := range s.Order {
		st := s.Steps[name]
		ss := stepSummary{Name: name, Kind: string(st.Spec.Kind), Status: st.Status, Started: st.Started, Ended: st.Ended,
			Servers: countServers(st), Reason: st.Reason}
		if !st.Ended.IsZero() && !st.Started.IsZero() {
			ss.Duration = st.Ended.Sub(st.Started).Seconds()
			if st.Ended.After(last) {
				last = st.Ended
			}
		}
		sum.Steps = append(sum.Steps, ss)
	}
	if s.State == ripcord.ExecSucceeded && !last.IsZero() {
		sum.RTOMeasuredS = last.Sub(s.Started).Seconds()
	}
	if evs, err := store.Events(ctx, s.ID, 0, 1000000); err == nil {
		for _, ev := range evs {
			switch ev.Type {
			case engine.EvServersBlocked:
				sum.BlockedWaits++
			case engine.EvLaunchRefused:
				sum.Refused++
			}
		}
	}
	return sum
}

func printSummary(out io.Writer, sum execSummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(out, "\nExecution %s: plan %s (%s), %s\n", sum.ID, sum.Plan, sum.Mode, strings.ToUpper(sum.State))
	if sum.Reason != "" {
		fmt.Fprintf(out, "  reason: %s\n", sum.Reason)
	}
	fmt.Fprintf(out, "  %-12s %-10s %-9s %-10s %-9s %s\n", "step", "status", "started", "duration", "launched", "failed")
	for _, st := range sum.Steps {
		d, started := "-", "-"
		if st.Duration > 0 {
			d = (time.Duration(st.Duration * float64(time.Second))).Round(time.Second).String()
		}
		if !st.Started.IsZero() {
			started = "+" + st.Started.Sub(sum.Started).Round(time.Second).String()
		}
		fmt.Fprintf(out, "  %-12s %-10s %-9s %-10s %-9d %d\n", st.Name, st.Status, started, d, st.Servers.Launched, st.Servers.Failed)
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
	fmt.Fprintf(out, "  DRS API calls: %d; launches that waited for another job instead of failing: %d; launches DRS refused: %d\n",
		sum.APICalls, sum.BlockedWaits, sum.Refused)
	if sum.CleanupDone {
		fmt.Fprintf(out, "  cleanup: %d drill instances terminated and verified gone (%.0f instance-minutes)\n", sum.CleanupInstance, sum.InstanceMinutes)
	}
	return nil
}
