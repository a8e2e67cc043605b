package engine

import (
	"fmt"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// EvLaunchConfigsRecorded records the launch configuration each server of
// a succeeded drill had, by fingerprint (ripcord.LaunchConfiguration's
// Fingerprint), so that a later change shows the plan as stale. It is read
// after the drill has ended, never before its first StartRecovery, and it
// applies once, only to a drill that succeeded.
const EvLaunchConfigsRecorded = "LaunchConfigsRecorded"

// LaunchConfigsRecorded is the data of EvLaunchConfigsRecorded.
type LaunchConfigsRecorded struct {
	// Fingerprints are by server key (ServerKey: target/ID).
	Fingerprints map[string]string `json:"fingerprints"`
	// Error says which reads failed (their servers have no fingerprint).
	Error string `json:"error,omitempty"`
}

// ServerKey names a server across targets: "target/ID".
func ServerKey(target, id string) string { return target + "/" + id }

// needsLaunchConfigs reports whether the execution should still record its
// servers' launch configurations: a drill that succeeded and has not.
func (s *State) needsLaunchConfigs() bool {
	return s.State == ripcord.ExecSucceeded && s.Spec.Mode == ripcord.ModeDrill && s.LaunchConfigs == nil
}

// applyLaunchConfigs folds an EvLaunchConfigsRecorded.
func (s *State) applyLaunchConfigs(d LaunchConfigsRecorded) string {
	if !s.needsLaunchConfigs() {
		return fmt.Sprintf("launch configurations are recorded once, after a drill succeeded (this execution is a %s, %s, recorded: %t)",
			s.Spec.Mode, s.State, s.LaunchConfigs != nil)
	}
	s.LaunchConfigs = d.Fingerprints
	if s.LaunchConfigs == nil {
		s.LaunchConfigs = map[string]string{}
	}
	s.LaunchConfigsError = d.Error
	return ""
}

// recordLaunchConfigs reads every server's launch configuration and
// records their fingerprints. A failed read is recorded as such (that
// server then counts as changed) rather than retried: the drill is over,
// and its evidence must not wait on DRS.
func (r *run) recordLaunchConfigs() error {
	d := LaunchConfigsRecorded{Fingerprints: map[string]string{}}
	var failed []string
	for _, st := range r.s.Spec.Steps {
		for _, sv := range st.Servers {
			api, err := r.api(sv.Target)
			if err != nil {
				return err
			}
			if api == nil {
				failed = append(failed, fmt.Sprintf("%s: target %s has no DRS connection", sv.ID, sv.Target))
				continue
			}
			c, err := api.LaunchConfiguration(r.ctx, sv.ID)
			if err != nil {
				if r.ctx.Err() != nil {
					return r.ctx.Err()
				}
				failed = append(failed, fmt.Sprintf("%s: %v", sv.ID, err))
				continue
			}
			d.Fingerprints[ServerKey(sv.Target, sv.ID)] = c.Fingerprint()
		}
	}
	d.Error = strings.Join(failed, "; ")
	return r.record(r.ev(EvLaunchConfigsRecorded, d))
}
