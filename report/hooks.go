package report

import (
	"time"

	"github.com/ripcord-dr/ripcord/engine"
)

// Hook is one outcome of a plan's hook: an attempt's result (succeeded or
// failed, with the HTTP, SSM or exit status and an excerpt of the output),
// or a skip (a hook that does not run in the execution's mode).
type Hook struct {
	Step    string `json:"step"`
	Phase   string `json:"phase"` // before, hook, after
	Hook    string `json:"hook"`
	Kind    string `json:"kind,omitempty"` // http, ssm, command
	Attempt int    `json:"attempt,omitempty"`
	Outcome string `json:"outcome"` // succeeded, failed, skipped
	Status  string `json:"status,omitempty"`
	Output  string `json:"output,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Unclear: the outcome was not known after a crash.
	Unclear bool       `json:"unclear,omitempty"`
	Started *time.Time `json:"startedAt,omitempty"`
	At      time.Time  `json:"at"`
}

func hooks(s *engine.State) []Hook {
	var out []Hook
	for _, h := range s.HookRuns {
		x := Hook{Step: h.Step, Phase: h.Phase, Hook: h.Hook, Kind: h.Kind, Attempt: h.Attempt, Outcome: h.Outcome, Status: h.Status,
			Output: h.Output, Reason: h.Reason, Unclear: h.Unclear, At: h.At.UTC()}
		if !h.Started.IsZero() {
			t := h.Started.UTC()
			x.Started = &t
		}
		out = append(out, x)
	}
	return out
}
