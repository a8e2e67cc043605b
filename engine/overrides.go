package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// Launch overrides (docs/plans.md, "Launch overrides"): the plan's launch
// configuration settings, frozen per server into Spec.Launch, are compared
// with DRS's once, at the start (EvLaunchConfigsCompared), and the fields
// that differ are applied before the server's first launch, between an
// intent (EvLaunchConfigUpdating) and its result (EvLaunchConfigUpdated).
// A server with overrides not yet applied is not launched.
const (
	EvLaunchConfigsCompared = "LaunchConfigsCompared"
	EvLaunchConfigUpdating  = "LaunchConfigUpdating" // intent: recorded before UpdateLaunchConfiguration
	EvLaunchConfigUpdated   = "LaunchConfigUpdated"
)

type (
	// LaunchConfigsCompared is the data of EvLaunchConfigsCompared: every
	// server with overrides, and what differs from DRS's configuration
	// (nothing: DRS launches it as the plan says).
	LaunchConfigsCompared struct {
		Servers []LaunchDiff `json:"servers"`
	}
	// LaunchDiff is one server's difference from its overrides.
	LaunchDiff struct {
		Target  string                 `json:"target"`
		Server  string                 `json:"server"`
		Changes []ripcord.LaunchChange `json:"changes,omitempty"`
	}
	// LaunchConfigUpdating is the data of EvLaunchConfigUpdating: the
	// fields about to be sent to UpdateLaunchConfiguration.
	LaunchConfigUpdating struct {
		Target  string                 `json:"target"`
		Server  string                 `json:"server"`
		Changes []ripcord.LaunchChange `json:"changes"`
	}
	// LaunchConfigUpdated is the data of EvLaunchConfigUpdated: DRS now
	// launches the server as the plan says; Changes are the intent's.
	// Confirmed says that no update was needed when the server was read
	// again after an attempt whose outcome had not been recorded (the
	// attempt had applied them).
	LaunchConfigUpdated struct {
		Target    string                 `json:"target"`
		Server    string                 `json:"server"`
		Changes   []ripcord.LaunchChange `json:"changes"`
		Confirmed bool                   `json:"confirmed,omitempty"`
	}
)

// OverrideState is where one server's launch overrides stand.
type OverrideState struct {
	Target string
	Server string
	// Pending are the fields still to change (from the comparison).
	Pending []ripcord.LaunchChange
	// Updating: an intent is recorded and its result is not.
	Updating bool
	// Done: DRS launches the server as the plan says; Changed is what
	// ripcord changed to get there (empty: nothing differed).
	Done    bool
	Changed []ripcord.LaunchChange
}

// LaunchChanges lists the launch configuration changes an execution made,
// by server key, in the order of the keys: what exec show and the report
// show.
func (s *State) LaunchChanges() []LaunchDiff {
	var out []LaunchDiff
	for _, k := range slices.Sorted(maps.Keys(s.Overrides)) {
		if o := s.Overrides[k]; len(o.Changed) > 0 {
			out = append(out, LaunchDiff{Target: o.Target, Server: o.Server, Changes: o.Changed})
		}
	}
	return out
}

// applyOverrideEvent folds the three launch override events; a non-empty
// result is why the event does not apply. A result applies whenever its
// intent is open: the call was made, whatever happened meanwhile.
func (s *State) applyOverrideEvent(data any) string {
	switch d := data.(type) {
	case LaunchConfigsCompared:
		if s.Final() {
			return fmt.Sprintf("the execution has ended (%s)", s.State)
		}
		if s.Overrides != nil {
			return "the launch configurations were compared already"
		}
		m := make(map[string]*OverrideState, len(d.Servers))
		for _, sv := range d.Servers {
			k := ServerKey(sv.Target, sv.Server)
			if _, ok := s.Spec.Launch[k]; !ok {
				return fmt.Sprintf("server %s has no launch overrides in the spec", k)
			}
			if m[k] != nil {
				return fmt.Sprintf("server %s is compared twice", k)
			}
			m[k] = &OverrideState{Target: sv.Target, Server: sv.Server, Pending: sv.Changes, Done: len(sv.Changes) == 0}
		}
		s.Overrides = m
	case LaunchConfigUpdating:
		o := s.Overrides[ServerKey(d.Target, d.Server)]
		switch {
		case s.Final() || s.Cancel:
			return fmt.Sprintf("the execution has ended or is cancelled (%s)", s.State)
		case o == nil:
			return fmt.Sprintf("server %s of target %s has no launch overrides to apply", d.Server, d.Target)
		case o.Done:
			return fmt.Sprintf("the launch overrides of server %s are applied already", d.Server)
		case o.Updating:
			return fmt.Sprintf("an update of server %s is under way already", d.Server)
		case len(d.Changes) == 0:
			return "an update changes at least one field"
		}
		o.Updating = true
	case LaunchConfigUpdated:
		o := s.Overrides[ServerKey(d.Target, d.Server)]
		if o == nil || !o.Updating {
			return fmt.Sprintf("no update of server %s of target %s is under way", d.Server, d.Target)
		}
		o.Updating, o.Done, o.Pending = false, true, nil
		o.Changed = slices.Concat(o.Changed, d.Changes) // a new slice: clones share none
	}
	return ""
}

// decodeOverrideEvent decodes the data of a launch override event.
func decodeOverrideEvent(typ string, b []byte) (any, error) {
	switch typ {
	case EvLaunchConfigsCompared:
		var d LaunchConfigsCompared
		err := json.Unmarshal(b, &d)
		return d, err
	case EvLaunchConfigUpdating:
		var d LaunchConfigUpdating
		err := json.Unmarshal(b, &d)
		return d, err
	default:
		var d LaunchConfigUpdated
		err := json.Unmarshal(b, &d)
		return d, err
	}
}

// needsCompare reports whether the execution still has to compare its
// servers' launch configurations with their overrides.
func (s *State) needsCompare() bool {
	return len(s.Spec.Launch) > 0 && s.Overrides == nil && !s.Final() && !s.Cancel
}

// compareLaunchConfigs reads the launch configuration of every server with
// overrides, once, at the start, and records what differs. A failed read
// records nothing: transient failures are retried on the next pass, others
// pause the execution.
func (r *run) compareLaunchConfigs() error {
	if !r.s.needsCompare() || r.s.Paused {
		return nil
	}
	d := LaunchConfigsCompared{Servers: []LaunchDiff{}}
	for _, k := range slices.Sorted(maps.Keys(r.s.Spec.Launch)) {
		target, id, _ := strings.Cut(k, "/")
		api, err := r.api(target)
		if err != nil {
			return err
		}
		c, err := api.LaunchConfiguration(r.ctx, id)
		r.heard(target, err)
		if err != nil {
			return r.drsFailed(target, "GetLaunchConfiguration", err)
		}
		_, changes := r.s.Spec.Launch[k].Diff(c)
		d.Servers = append(d.Servers, LaunchDiff{Target: target, Server: id, Changes: changes})
	}
	return r.record(r.ev(EvLaunchConfigsCompared, d))
}

// readyToLaunch returns the servers of free (in target) whose launch
// overrides are applied or who have none, applying them first where they
// are not. A server whose update DRS refuses for now (a job launches it,
// throttling, an outage) waits for a later pass.
func (r *run) readyToLaunch(st *StepState, target string, free []string) ([]string, error) {
	if len(r.s.Spec.Launch) == 0 {
		return free, nil
	}
	ready := free[:0:0]
	for _, id := range free {
		k := ServerKey(target, id)
		if _, has := r.s.Spec.Launch[k]; !has {
			ready = append(ready, id)
			continue
		}
		o := r.s.Overrides[k]
		if o == nil {
			continue // not compared yet (a failed read): not launched without them
		}
		if !o.Done {
			ok, err := r.applyOverrides(st, o)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		ready = append(ready, id)
	}
	return ready, nil
}

// applyOverrides makes DRS launch one server as its overrides say: the
// intent, UpdateLaunchConfiguration with the fields that differ, the
// result. An intent whose result was not recorded (a crash, a refusal) is
// carried on by reading the server again: only what still differs is sent,
// and nothing when nothing does. It reports whether the overrides are
// applied.
func (r *run) applyOverrides(st *StepState, o *OverrideState) (bool, error) {
	want := r.s.Spec.Launch[ServerKey(o.Target, o.Server)]
	api, err := r.api(o.Target)
	if err != nil {
		return false, err
	}
	intent := o.Pending
	var update ripcord.LaunchOverrides
	if o.Updating {
		c, err := api.LaunchConfiguration(r.ctx, o.Server)
		r.heard(o.Target, err)
		if err != nil {
			return false, r.drsFailed(o.Target, "GetLaunchConfiguration", err)
		}
		var fresh []ripcord.LaunchChange
		if update, fresh = want.Diff(c); len(fresh) == 0 {
			return true, r.record(r.ev(EvLaunchConfigUpdated, LaunchConfigUpdated{Target: o.Target, Server: o.Server, Changes: intent, Confirmed: true}))
		}
	} else {
		update = only(want, intent)
		if err := r.record(r.ev(EvLaunchConfigUpdating, LaunchConfigUpdating{Target: o.Target, Server: o.Server, Changes: intent})); err != nil {
			return false, err
		}
	}
	var callErr error
	err = r.mutation(func() error {
		_, callErr = api.UpdateLaunchConfiguration(r.ctx, o.Server, update)
		r.heard(o.Target, callErr)
		if callErr != nil {
			return nil
		}
		if h := r.e.cfg.Hooks.AfterConfigCall; h != nil {
			if err := h(o.Server); err != nil {
				return err
			}
		}
		return r.record(r.ev(EvLaunchConfigUpdated, LaunchConfigUpdated{Target: o.Target, Server: o.Server, Changes: intent}))
	})
	if err != nil || callErr == nil {
		return callErr == nil && err == nil, err
	}
	// The intent stays open: the next attempt reads the server again.
	if ripcord.Classify(callErr) == ripcord.ClassConflict {
		// A job launches the server, maybe one the job view has not
		// seen (older than its horizon): list them all before the next
		// launch, and wait.
		r.e.forceFull(o.Target)
		r.delay(st.Spec.Name)
		r.logger().Info("launch configuration update refused while the server is held; will try again", "server", o.Server, "err", callErr)
		return false, nil
	}
	if lost := (*LostLeaseError)(nil); errors.As(callErr, &lost) {
		return false, callErr
	}
	return false, r.drsFailed(o.Target, "UpdateLaunchConfiguration", callErr)
}

// only returns the fields of o that changes name.
func only(o ripcord.LaunchOverrides, changes []ripcord.LaunchChange) ripcord.LaunchOverrides {
	var out ripcord.LaunchOverrides
	for _, c := range changes {
		switch c.Field {
		case ripcord.FieldLaunchDisposition:
			out.Disposition = o.Disposition
		case ripcord.FieldRightSizing:
			out.RightSizing = o.RightSizing
		case ripcord.FieldCopyPrivateIP:
			out.CopyPrivateIP = o.CopyPrivateIP
		case ripcord.FieldCopyTags:
			out.CopyTags = o.CopyTags
		case ripcord.FieldBYOL:
			out.BYOL = o.BYOL
		}
	}
	return out
}

// LaunchDiffs is the dry run of launch overrides: it resolves the plan's
// servers in DRS as Begin does and compares the launch configuration of
// each server with overrides with them, as an execution started now would
// at its start. It only reads (ListSourceServers, GetLaunchConfiguration);
// the result has one entry per server with overrides, in spec order,
// Changes empty where DRS already launches the server as the plan says.
func LaunchDiffs(ctx context.Context, f *ripcord.PlanFile, planName string, targets map[string]ripcord.DRS) ([]LaunchDiff, error) {
	one, err := f.Extract(planName)
	if err != nil {
		return nil, err
	}
	resolved, _, err := ResolveServers(ctx, one, planName, targets)
	if err != nil {
		return nil, err
	}
	out := []LaunchDiff{}
	for _, st := range resolved {
		for _, sv := range st.Servers {
			if sv.Launch == nil {
				continue
			}
			c, err := targets[sv.Target].LaunchConfiguration(ctx, sv.ID)
			if err != nil {
				return nil, fmt.Errorf("read the launch configuration of server %s in target %s: %w", sv.ID, sv.Target, err)
			}
			_, changes := sv.Launch.Diff(c)
			out = append(out, LaunchDiff{Target: sv.Target, Server: sv.ID, Changes: changes})
		}
	}
	return out, nil
}
