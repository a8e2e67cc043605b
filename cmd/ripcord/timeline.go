package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// This file turns an execution's event log into the auditor's timeline
// that `ripcord exec show` prints: every event in order with its time,
// offset, actor and a sentence; every launch attempt of every server; and
// the outcome. Payloads are decoded with the engine's own types
// (engine/events.go), which define the log's format.

// execShow is `ripcord exec show --output json`. Its shape is documented
// in README.md ("Inspecting an execution") and kept stable: fields are
// added, never renamed or removed.
type execShow struct {
	Execution execHeader     `json:"execution"`
	Events    []timelineItem `json:"events"`
	Steps     []stepAudit    `json:"steps"`
	Summary   execSummary    `json:"summary"`
	// LaunchChanges are the launch configuration fields the execution
	// changed in DRS (its plan's launch overrides), per server.
	LaunchChanges []launchChangeAudit `json:"launch_changes,omitempty"`
}

// launchChangeAudit is one server's launch configuration changes.
type launchChangeAudit struct {
	Target  string                 `json:"target"`
	Server  string                 `json:"server"`
	Changes []ripcord.LaunchChange `json:"changes"`
}

// execHeader names the execution.
type execHeader struct {
	ID       string    `json:"id"`
	Plan     string    `json:"plan"`
	PlanHash string    `json:"plan_hash"`
	Mode     string    `json:"mode"`
	State    string    `json:"state"`
	Verdict  string    `json:"verdict"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	Actor    string    `json:"started_by"`
}

// timelineItem is one event of the log.
type timelineItem struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// OffsetS is the time since the execution started, in seconds.
	OffsetS float64 `json:"offset_s"`
	Actor   string  `json:"actor"`
	Type    string  `json:"type"`
	// Text is the event in one sentence.
	Text string `json:"text"`
	// Data is the event's payload exactly as the log holds it.
	Data json.RawMessage `json:"data,omitempty"`
}

// stepAudit is a step with every server and every launch attempt.
type stepAudit struct {
	Name         string        `json:"name"`
	Kind         string        `json:"kind"`
	Status       string        `json:"status"`
	Started      time.Time     `json:"started,omitzero"`
	Ended        time.Time     `json:"ended,omitzero"`
	Reason       string        `json:"reason,omitempty"`
	SkippedBy    string        `json:"skipped_by,omitempty"`
	SkippedAfter string        `json:"skipped_after,omitempty"`
	Servers      []serverAudit `json:"servers"`
}

// serverAudit is a server and its attempts, oldest first.
type serverAudit struct {
	ID         string         `json:"id"`
	Target     string         `json:"target"`
	Optional   bool           `json:"optional,omitempty"`
	Status     string         `json:"status"`
	JobID      string         `json:"job_id,omitempty"`
	InstanceID string         `json:"instance_id,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Attempts   []attemptAudit `json:"attempts"`
}

// attemptAudit is one launch attempt (engine.Attempt).
type attemptAudit struct {
	N          int       `json:"n"`
	Batch      string    `json:"batch,omitempty"`
	JobID      string    `json:"job_id,omitempty"`
	InstanceID string    `json:"instance_id,omitempty"`
	Requested  time.Time `json:"requested"`
	Launched   time.Time `json:"launched,omitzero"`
	// Status is REQUESTED, IN_PROGRESS, LAUNCHED, FAILED or REFUSED.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// buildShow assembles the timeline of execution s from its events.
func buildShow(s *engine.State, events []ripcord.Event, sum execSummary) execShow {
	show := execShow{
		Execution: execHeader{ID: s.ID, Plan: s.Spec.Plan, PlanHash: s.Spec.PlanHash, Mode: string(s.Spec.Mode),
			State: string(s.State), Verdict: sum.Verdict, Started: s.Started, Ended: s.Finished},
		Events:  make([]timelineItem, 0, len(events)),
		Steps:   []stepAudit{},
		Summary: sum,
	}
	if len(events) > 0 {
		show.Execution.Actor = events[0].Actor
	}
	for _, ev := range events {
		show.Events = append(show.Events, timelineItem{Seq: ev.Seq, At: ev.At.UTC(), OffsetS: ev.At.Sub(s.Started).Seconds(),
			Actor: ev.Actor, Type: ev.Type, Text: describeEvent(ev), Data: ev.Data})
	}
	for _, d := range s.LaunchChanges() {
		show.LaunchChanges = append(show.LaunchChanges, launchChangeAudit{Target: d.Target, Server: d.Server, Changes: d.Changes})
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		sa := stepAudit{Name: name, Kind: string(st.Spec.Kind), Status: st.Status, Started: st.Started, Ended: st.Ended,
			Reason: st.Reason, Servers: []serverAudit{}}
		if st.Manual {
			sa.SkippedBy, sa.SkippedAfter = st.SkippedBy, st.SkippedAfter
		}
		for _, sp := range st.Spec.Servers { // plan order
			sv := st.Servers[sp.ID]
			if sv == nil {
				continue
			}
			a := serverAudit{ID: sv.ID, Target: sv.Target, Optional: sv.Optional, Status: sv.Status, JobID: sv.JobID,
				InstanceID: sv.InstanceID, Reason: sv.Reason, Attempts: []attemptAudit{}}
			for i, at := range sv.History {
				a.Attempts = append(a.Attempts, attemptAudit{N: i + 1, Batch: at.Batch, JobID: at.JobID, InstanceID: at.InstanceID,
					Requested: at.Requested, Launched: at.Launched, Status: at.Status, Reason: at.Reason})
			}
			sa.Servers = append(sa.Servers, a)
		}
		show.Steps = append(show.Steps, sa)
	}
	return show
}

// describeEvent says in one sentence what an event records.
func describeEvent(ev ripcord.Event) string {
	text, err := eventText(ev)
	if err != nil {
		return fmt.Sprintf("%s (its payload does not decode: %v)", ev.Type, err)
	}
	return text
}

func eventText(ev ripcord.Event) (string, error) {
	var err error
	dec := func(v any) {
		if len(ev.Data) > 0 {
			err = json.Unmarshal(ev.Data, v)
		}
	}
	var text string
	switch ev.Type {
	case engine.EvExecutionStarted:
		var d engine.Spec
		dec(&d)
		text = startedText(d)
	case engine.EvStepStarted:
		var d engine.StepStarted
		dec(&d)
		text = "step " + d.Step + " started"
	case engine.EvServersBlocked:
		var d engine.ServersBlocked
		dec(&d)
		text = fmt.Sprintf("step %s: %s in target %s held by DRS job %s (%s) since %s; they wait for it instead of conflicting",
			d.Step, serverList(d.Servers), d.Target, d.JobID, dash(d.JobType), utc(d.Since))
	case engine.EvLaunchRequested:
		var d engine.LaunchRequested
		dec(&d)
		text = fmt.Sprintf("step %s: launch of %s in target %s recorded as batch %s before calling StartRecovery",
			d.Step, serverList(d.Servers), d.Target, d.Batch)
	case engine.EvJobCreated:
		var d engine.JobCreated
		dec(&d)
		text = fmt.Sprintf("batch %s: DRS created job %s", d.Batch, d.JobID)
	case engine.EvLaunchUnclear:
		var d engine.LaunchUnclear
		dec(&d)
		text = fmt.Sprintf("batch %s: StartRecovery's answer was lost (%s); DRS's jobs are searched for it before any new launch", d.Batch, d.Error)
	case engine.EvJobAdopted:
		var d engine.JobCreated
		dec(&d)
		text = fmt.Sprintf("batch %s: found its job %s in DRS (by its tags) and adopted it; nothing was launched twice", d.Batch, d.JobID)
	case engine.EvLaunchRefused:
		var d engine.LaunchRefused
		dec(&d)
		text = fmt.Sprintf("batch %s: DRS refused the launch (%s: %s); its servers wait to be launched again", d.Batch, d.Code, d.Error)
	case engine.EvServerStatus:
		var d engine.ServerStatus
		dec(&d)
		text = serverStatusText(d)
	case engine.EvStepFinished:
		var d engine.StepFinished
		dec(&d)
		text = "step " + d.Step + " " + d.Status
		if d.Reason != "" {
			text += ": " + d.Reason
		}
	case engine.EvStepSkipped:
		var d engine.StepFinished
		dec(&d)
		if d.Manual {
			text = fmt.Sprintf("step %s skipped by %s; the steps after it go on", d.Step, ev.Actor)
		} else {
			text = "step " + d.Step + " skipped"
			if d.Reason != "" {
				text += ": " + d.Reason
			}
		}
	case engine.EvRetryRequested:
		var d engine.StepStarted
		dec(&d)
		text = fmt.Sprintf("retry of step %s requested by %s: its failed servers are launched again", d.Step, ev.Actor)
	case engine.EvExecutionPaused:
		var d engine.StepRef
		dec(&d)
		text = "execution paused"
		if d.Step != "" {
			text += " at step " + d.Step
		}
		if d.Reason != "" {
			text += ": " + d.Reason
		}
		if d.Remedy != "" {
			text += "; remedy: " + d.Remedy
		}
	case engine.EvExecutionResumed:
		text = "execution resumed by " + ev.Actor
	case engine.EvCancelRequested:
		text = fmt.Sprintf("cancel requested by %s: no new step starts; launches in flight finish", ev.Actor)
	case engine.EvCleanupScheduled:
		var d engine.CleanupScheduled
		dec(&d)
		switch {
		case !d.Due.IsZero():
			text = "cleanup of the drill's instances scheduled for " + utc(d.Due)
		default:
			text = fmt.Sprintf("cleanup of the drill's instances scheduled %s after the drill ends", d.After)
		}
	case engine.EvCleanupRequested:
		text = "cleanup of the drill's instances started: only instances this execution launched are terminated"
	case engine.EvTerminateRequested:
		var d engine.TerminateRequested
		dec(&d)
		text = fmt.Sprintf("cleanup: termination of %s in target %s recorded as batch %s before calling TerminateRecoveryInstances",
			count(len(d.Instances), "instance"), d.Target, d.Batch)
		if len(d.Instances) > 0 {
			text += " (" + strings.Join(d.Instances, ", ") + ")"
		}
	case engine.EvTerminateJob:
		var d engine.JobCreated
		dec(&d)
		text = fmt.Sprintf("cleanup batch %s: DRS created TERMINATE job %s", d.Batch, d.JobID)
	case engine.EvTerminateUnclear:
		var d engine.LaunchUnclear
		dec(&d)
		text = fmt.Sprintf("cleanup batch %s: TerminateRecoveryInstances' answer was lost (%s); DRS is checked before trying again", d.Batch, d.Error)
	case engine.EvCleanupFinished:
		var d engine.CleanupFinished
		dec(&d)
		text = fmt.Sprintf("cleanup finished: %s terminated and verified gone (%.0f instance-minutes)", count(d.Instances, "instance"), d.InstanceMinutes)
		if len(d.AlreadyGone) > 0 {
			text += "; already gone: " + strings.Join(d.AlreadyGone, ", ")
		}
		if len(d.NotOurs) > 0 {
			text += "; not launched by this execution, left alone: " + strings.Join(d.NotOurs, ", ")
		}
	case engine.EvExecutionFinished:
		var d engine.ExecutionFinished
		dec(&d)
		text = "execution " + string(d.State)
		if d.Reason != "" {
			text += ": " + d.Reason
		}
	case engine.EvDriverStarted:
		var d engine.DriverStarted
		dec(&d)
		text = fmt.Sprintf("driver started: %s holds the lease (epoch %d)", ownerWords(d.Owner), d.Epoch)
		if d.TookOver != nil {
			text += "; took over from " + ownerWords(*d.TookOver) + ", whose process was gone"
		}
	case engine.EvDriverStopped:
		var d engine.DriverStopped
		dec(&d)
		text = fmt.Sprintf("driver stopped (epoch %d): %s; it made %s", d.Epoch, dash(d.Reason), count(int(d.DRSCalls), "DRS call"))
	case engine.EvDRSUnavailable:
		var d engine.DRSUnavailable
		dec(&d)
		text = fmt.Sprintf("DRS in target %s failing since %s (%s, %s): %s; ripcord keeps trying",
			d.Target, utc(d.Since), d.Op, count(d.Attempts, "attempt"), d.Error)
	case engine.EvDRSRecovered:
		var d engine.DRSRecovered
		dec(&d)
		text = fmt.Sprintf("DRS in target %s answers again (after %s)", d.Target, count(d.Attempts, "failed attempt"))
	case engine.EvRecoveryPoints:
		var d engine.RecoveryPoints
		dec(&d)
		text = recoveryPointsText(d)
	case engine.EvLaunchConfigsRecorded:
		var d engine.LaunchConfigsRecorded
		dec(&d)
		text = fmt.Sprintf("launch configurations of %d servers recorded (fingerprints, to tell later whether the plan is stale)", len(d.Fingerprints))
		if d.Error != "" {
			text += "; not read: " + d.Error
		}
	case engine.EvLaunchConfigsCompared:
		var d engine.LaunchConfigsCompared
		dec(&d)
		text = launchComparedText(d)
	case engine.EvLaunchConfigUpdating:
		var d engine.LaunchConfigUpdating
		dec(&d)
		text = fmt.Sprintf("server %s (target %s): launch configuration update recorded before calling UpdateLaunchConfiguration: %s",
			d.Server, d.Target, launchChangesText(d.Changes))
	case engine.EvLaunchConfigUpdated:
		var d engine.LaunchConfigUpdated
		dec(&d)
		text = fmt.Sprintf("server %s (target %s): launch configuration changed: %s", d.Server, d.Target, launchChangesText(d.Changes))
		if d.Confirmed {
			text += " (read again after an attempt whose answer was not recorded: already applied, not sent again)"
		}
	case engine.EvApprovalRequested, engine.EvApprovalGranted, engine.EvApprovalRejected, engine.EvApprovalTimedOut:
		text, err = approvalText(ev)
	case engine.EvHookStarted, engine.EvHookSucceeded, engine.EvHookFailed, engine.EvHookSkipped:
		text, err = hookText(ev)
	default:
		text = fmt.Sprintf("%s (an event type this ripcord does not describe): %s", ev.Type, string(ev.Data))
	}
	return text, err
}

// startedText describes an ExecutionStarted event: the frozen spec.
func startedText(spec engine.Spec) string {
	servers := 0
	for _, st := range spec.Steps {
		servers += len(st.Servers)
	}
	hash := spec.PlanHash
	if len(hash) > 12 {
		hash = hash[:12]
	}
	text := fmt.Sprintf("execution started: plan %s (%s), version %s, %s, %s", spec.Plan, spec.Mode, dash(hash),
		count(len(spec.Steps), "step"), count(servers, "server"))
	var targets []string
	for _, t := range spec.Targets {
		where := t.Region
		if t.Account != "" {
			where = t.Account + " " + where
		}
		targets = append(targets, fmt.Sprintf("%s (%s)", t.Name, strings.TrimSpace(where)))
	}
	if len(targets) > 0 {
		text += "; targets " + strings.Join(targets, ", ")
	}
	return text
}

// recoveryPointsText describes a RecoveryPoints event.
func recoveryPointsText(d engine.RecoveryPoints) string {
	var each []string
	for _, p := range d.Points {
		each = append(each, fmt.Sprintf("%s (server %s) from data of %s", p.Instance, p.Server, utc(p.PointInTime)))
	}
	text := fmt.Sprintf("target %s: recovery points of %s: %s", d.Target, count(len(d.Points), "instance"), strings.Join(each, ", "))
	if d.Error != "" {
		text += "; unknown: " + d.Error
	}
	return text
}

// serverStatusText describes a ServerStatus event.
func serverStatusText(d engine.ServerStatus) string {
	text := fmt.Sprintf("server %s (step %s) ", d.Server, d.Step)
	switch d.Status {
	case "LAUNCHED":
		text += "LAUNCHED"
		if d.InstanceID != "" {
			text += " as recovery instance " + d.InstanceID
		}
		if d.JobID != "" {
			text += " by job " + d.JobID
		}
	case "IN_PROGRESS":
		text += "in progress"
		if d.JobID != "" {
			text += " in job " + d.JobID
		}
	default:
		text += d.Status
		if d.JobID != "" {
			text += " in job " + d.JobID
		}
	}
	if d.Reason != "" {
		text += ": " + d.Reason
	}
	return text
}

// ownerWords names a lease owner: host, process and start.
func ownerWords(o ripcord.LeaseOwner) string {
	return fmt.Sprintf("host %s pid %d (started %s)", dash(o.Host), o.PID, utc(o.Started))
}

// serverList is "1 server (s-1)" or "2 servers (s-1, s-2)".
func serverList(ids []string) string {
	return fmt.Sprintf("%s (%s)", count(len(ids), "server"), strings.Join(ids, ", "))
}

// utc is a time in UTC, RFC 3339, or "-" for none.
func utc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// offset is d as "+1m2s" ("+0.123s" under ten seconds).
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	if d < 10*time.Second {
		return sign + d.Round(time.Millisecond).String()
	}
	return sign + d.Round(time.Second).String()
}

// launchChangesText writes changes as "copyTags false → true, ...".
func launchChangesText(changes []ripcord.LaunchChange) string {
	if len(changes) == 0 {
		return "nothing"
	}
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("%s %s → %s", c.Field, dash(c.From), c.To)
	}
	return strings.Join(parts, ", ")
}

// launchComparedText describes an EvLaunchConfigsCompared event.
func launchComparedText(d engine.LaunchConfigsCompared) string {
	var differ []string
	for _, sv := range d.Servers {
		if len(sv.Changes) > 0 {
			differ = append(differ, fmt.Sprintf("%s: %s", sv.Server, launchChangesText(sv.Changes)))
		}
	}
	text := fmt.Sprintf("launch configurations of %s with launch overrides read from DRS", count(len(d.Servers), "server"))
	if len(differ) == 0 {
		return text + "; DRS already launches them as the plan says"
	}
	return text + "; to change before launch: " + strings.Join(differ, "; ")
}
