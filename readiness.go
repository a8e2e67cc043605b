package ripcord

import (
	"strings"
	"time"
)

// Severity says how much a readiness finding matters.
type Severity string

// Severities, the worst first. A blocking finding means a run of the plan
// now would fail or be refused; `ripcord check` exits non-zero on one.
const (
	SeverityBlocking Severity = "blocking"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Rank orders severities: blocking 0, warning 1, info 2.
func (s Severity) Rank() int {
	switch s {
	case SeverityBlocking:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// Finding is one result of a readiness check of a plan (package
// readiness): what is wrong or worth knowing, about which resource, and what
// the operator should do.
type Finding struct {
	Severity Severity `json:"severity"`
	// Check is a stable code naming the check, e.g. replication-lag
	// (docs/readiness.md lists them).
	Check    string   `json:"check"`
	Resource Resource `json:"resource"`
	Message  string   `json:"message"`
	Remedy   string   `json:"remedy"`
}

// Resource names what a finding is about: a source server (ID and name)
// in a target, a protection group, a step, a DRS job or an execution. Only
// the fields that apply are set.
type Resource struct {
	Target     string `json:"target,omitempty"`
	ServerID   string `json:"serverId,omitempty"`
	ServerName string `json:"serverName,omitempty"`
	Group      string `json:"group,omitempty"`
	Step       string `json:"step,omitempty"`
	JobID      string `json:"jobId,omitempty"`
	Execution  string `json:"execution,omitempty"`
}

// String writes the resource for a table: "web/s-0123… (orders-web-1)".
func (r Resource) String() string {
	var parts []string
	if r.ServerID != "" {
		s := r.ServerID
		if r.Target != "" {
			s = r.Target + "/" + s
		}
		if r.ServerName != "" {
			s += " (" + r.ServerName + ")"
		}
		parts = append(parts, s)
	} else if r.Target != "" {
		parts = append(parts, "target "+r.Target)
	}
	if r.Group != "" {
		parts = append(parts, "group "+r.Group)
	}
	if r.Step != "" {
		parts = append(parts, "step "+r.Step)
	}
	if r.JobID != "" {
		parts = append(parts, "job "+r.JobID)
	}
	if r.Execution != "" {
		parts = append(parts, "execution "+r.Execution)
	}
	return strings.Join(parts, ", ")
}

// Blocking reports whether any finding is blocking.
func Blocking(findings []Finding) bool {
	for _, f := range findings {
		if f.Severity == SeverityBlocking {
			return true
		}
	}
	return false
}

// Staleness says whether a plan's evidence is out of date: it was never
// drilled successfully, or its version, its resolved servers or a server's
// launch configuration changed since its last successful drill, or that
// drill is older than the plan's drillEvery.
type Staleness struct {
	Stale bool `json:"stale"`
	// Reasons are in words for an operator; empty when not stale.
	Reasons []string `json:"reasons,omitempty"`
	// LastDrill is the last successful drill's execution ID and end;
	// empty when there is none.
	LastDrill      string    `json:"lastDrill,omitempty"`
	LastDrillEnded time.Time `json:"lastDrillEnded,omitzero"`
	// Checked says whether the resolved servers and launch configurations
	// were compared with DRS (by a readiness check); when false, only the
	// version and the drill's age were.
	Checked bool `json:"checked"`
}
