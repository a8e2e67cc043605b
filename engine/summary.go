package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Verdicts of an execution, as the summary gives them. A drill in which a
// person skipped a failed step, or in which optional servers failed, did
// not plainly succeed: it succeeded with exceptions, and they are listed.
const (
	VerdictSucceeded  = "succeeded"
	VerdictExceptions = "succeeded with exceptions"
)

// Summary is an execution's digest: what the listing row keeps (so that
// `exec list` shows it without folding the log) and what the end of a run
// prints.
type Summary struct {
	State   ripcord.ExecState `json:"state"`
	Verdict string            `json:"verdict"`
	// Exceptions are why a succeeded execution is not plainly succeeded:
	// steps a person skipped, optional servers that failed.
	Exceptions []string `json:"exceptions,omitempty"`
	Reason     string   `json:"reason,omitempty"` // why it failed or paused
	Remedy     string   `json:"remedy,omitempty"` // what to do about a pause
	Servers    int      `json:"servers"`
	Launched   int      `json:"launched"`
	Failed     int      `json:"failed"`
	// OptionalFailed names the optional servers that failed.
	OptionalFailed []string `json:"optionalFailed,omitempty"`
	// Skipped names the skipped steps, with why.
	Skipped []string `json:"skipped,omitempty"`
	// Cleanup is "", "scheduled", "requested", "failed" or "done";
	// CleanupDue is when a scheduled cleanup is due. A failed cleanup
	// (CleanupFailed says why) is still open: ripcord keeps trying.
	Cleanup       string    `json:"cleanup,omitempty"`
	CleanupDue    time.Time `json:"cleanupDue,omitzero"`
	CleanupFailed string    `json:"cleanupFailed,omitempty"`
	// Outages are the targets where DRS keeps failing, in words.
	Outages  []string `json:"outages,omitempty"`
	DRSCalls int64    `json:"drsCalls"`
}

// Summarize digests the state. calls is the DRS requests of a driver that
// is still running (those of drivers that stopped are in the log).
func (s *State) Summarize(calls int64) Summary {
	sum := Summary{State: s.State, Verdict: string(s.State), DRSCalls: s.DRSCalls + calls}
	if s.Paused {
		sum.Reason, sum.Remedy = s.PauseReason, s.PauseRemedy
	} else if s.State == ripcord.ExecFailed {
		sum.Reason = s.Reason
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		for _, id := range sortedKeys(st.Servers) {
			sv := st.Servers[id]
			sum.Servers++
			switch sv.Status {
			case srvLaunched:
				sum.Launched++
			case srvFailed:
				sum.Failed++
				if sv.Optional {
					sum.OptionalFailed = append(sum.OptionalFailed, fmt.Sprintf("%s (step %s): %s", id, name, sv.Reason))
				}
			}
		}
		if st.Status == stepSkipped {
			why := st.Reason
			if st.Manual {
				why = "skipped by " + st.SkippedBy
				if st.SkippedAfter != "" {
					why += " while it was " + st.SkippedAfter
				}
				sum.Exceptions = append(sum.Exceptions, "step "+name+" "+why)
			}
			sum.Skipped = append(sum.Skipped, name+": "+why)
		}
	}
	for _, o := range sum.OptionalFailed {
		sum.Exceptions = append(sum.Exceptions, "optional server "+o)
	}
	if s.State == ripcord.ExecSucceeded {
		sum.Verdict = VerdictSucceeded
		if len(sum.Exceptions) > 0 {
			sum.Verdict = VerdictExceptions
		}
	}
	switch c := s.Cleanup; {
	case c.Done:
		sum.Cleanup = "done"
	case c.Requested && c.Failed != "":
		sum.Cleanup, sum.CleanupFailed = "failed", c.Failed
	case c.Requested:
		sum.Cleanup = "requested"
	case !c.Due.IsZero() || c.After > 0:
		sum.Cleanup, sum.CleanupDue = "scheduled", c.Due
	}
	for _, t := range sortedKeys(s.Outages) {
		sum.Outages = append(sum.Outages, s.Outages[t].String())
	}
	return sum
}

// RTO is the recovery time an execution achieved: from its start until the
// last of its critical (not optional) servers launched. Optional servers do
// not count; a wait step after the last launch does not either. While a
// critical server has not launched, the recovery time is not achieved and
// NotLaunched names those servers. This is the one measurement the
// summaries and the reports give.
type RTO struct {
	Measured time.Duration
	// Last is the last critical server to launch, in step Step, at At.
	Last, Step string
	At         time.Time
	// NotLaunched lists the critical servers not launched ("ID (step S)").
	NotLaunched []string
}

// Complete reports whether every critical server launched: whether Measured
// means anything.
func (r RTO) Complete() bool { return len(r.NotLaunched) == 0 && !r.At.IsZero() }

// RecoveryTime measures the execution's RTO (see RTO).
func (s *State) RecoveryTime() RTO {
	var r RTO
	for _, name := range s.Order {
		st := s.Steps[name]
		for _, id := range sortedKeys(st.Servers) {
			sv := st.Servers[id]
			switch {
			case sv.Optional:
			case sv.Status != srvLaunched:
				r.NotLaunched = append(r.NotLaunched, fmt.Sprintf("%s (step %s)", id, name))
			case sv.LaunchedAt.After(r.At):
				r.Last, r.Step, r.At = id, name, sv.LaunchedAt
			}
		}
	}
	if !r.At.IsZero() {
		r.Measured = r.At.Sub(s.Started)
	}
	return r
}

// String says what fails, since when, and how often it was tried.
func (o *Outage) String() string {
	return fmt.Sprintf("DRS in target %s failing since %s (%s, %d attempts): %s",
		o.Target, o.Since.UTC().Format(time.RFC3339), o.Op, o.Attempts, o.Error)
}

// DecodeSummary reads the summary kept on an execution's listing row; an
// empty one decodes to the zero Summary.
func DecodeSummary(b []byte) (Summary, error) {
	var s Summary
	if len(b) == 0 {
		return s, nil
	}
	err := json.Unmarshal(b, &s)
	return s, err
}
