package report

import (
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// LaunchChange is one launch configuration field the execution changed in
// DRS before launching its server (the plan's launch overrides,
// docs/plans.md): when it was recorded, the DRS field, the value DRS had
// and the value it got.
type LaunchChange struct {
	At     time.Time `json:"at"`
	Target string    `json:"target"`
	Server string    `json:"server"`
	Field  string    `json:"field"`
	From   string    `json:"from"`
	To     string    `json:"to"`
}

// launchChanges lists the changes the execution's log records, in order:
// nil when its plan has no launch overrides (the report then has no such
// section), empty when it has and nothing had to change.
func launchChanges(s *engine.State, events []ripcord.Event) []LaunchChange {
	if len(s.Spec.Launch) == 0 {
		return nil
	}
	out := []LaunchChange{}
	for _, ev := range events {
		if ev.Type != engine.EvLaunchConfigUpdated {
			continue
		}
		d := decode[engine.LaunchConfigUpdated](ev)
		for _, c := range d.Changes {
			out = append(out, LaunchChange{At: ev.At.UTC(), Target: d.Target, Server: d.Server, Field: c.Field, From: c.From, To: c.To})
		}
	}
	return out
}

// LaunchSection reports whether the report has a launch configuration
// changes section: whether the plan has launch overrides.
func (r Report) LaunchSection() bool { return r.LaunchChanges != nil }
