package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/ripcord-dr/ripcord"
)

// Failback (docs/failback.md): an execution of mode failback runs a
// recovered plan back. BuildSpec reverses the plan's dependencies (a step
// that ran after another now runs before it: web, app, then the database),
// and launch steps fail their servers back with StartFailbackLaunch on
// their recovery instances instead of launching them with StartRecovery.
// Everything else is the launch's: the intent recorded before the call and
// the job after it, the same job tags, batches within the quotas, and an
// unclear outcome settled by the one job matcher (ownJob: DRS's failback
// job names each instance's source server, so the batch's servers match).

// reverseAfter returns the steps' dependencies reversed: step a after b
// becomes b after a. The steps are listed in reverse too, so that a listing
// in file order reads in the order they run.
func reverseAfter(steps []SpecStep) []SpecStep {
	rev := map[string][]string{}
	for _, st := range steps {
		for _, dep := range st.After {
			rev[dep] = append(rev[dep], st.Name)
		}
	}
	out := make([]SpecStep, len(steps))
	for i, st := range steps {
		st.After = rev[st.Name]
		sort.Strings(st.After)
		out[len(steps)-1-i] = st
	}
	return out
}

// pickFailbackInstance chooses, among a server's recovery instances, the
// one to fail back: a recovery (not drill) instance, the one ready for a
// failback launch if there is one, else the latest.
func pickFailbackInstance(list []ripcord.RecoveryInstance) (ripcord.RecoveryInstance, bool) {
	var best ripcord.RecoveryInstance
	found := false
	for _, ri := range list {
		if ri.IsDrill {
			continue
		}
		switch {
		case !found,
			ri.FailbackState == ripcord.FailbackReadyForLaunch && best.FailbackState != ripcord.FailbackReadyForLaunch,
			(ri.FailbackState == ripcord.FailbackReadyForLaunch) == (best.FailbackState == ripcord.FailbackReadyForLaunch) && ri.PointInTime.After(best.PointInTime):
			best, found = ri, true
		}
	}
	return best, found
}

// failbackReadiness reads, per target, the recovery instances of the
// spec's servers and says which servers cannot be failed back now: no
// recovery instance, or one whose failback state is not
// FAILBACK_READY_FOR_LAUNCH. Optional servers are warnings.
func (e *Engine) failbackReadiness(ctx context.Context, spec Spec) (warnings, notReady []string, err error) {
	byTarget := map[string][]string{}
	for _, st := range spec.Steps {
		for _, sv := range st.Servers {
			byTarget[sv.Target] = append(byTarget[sv.Target], sv.ID)
		}
	}
	inst := map[string][]ripcord.RecoveryInstance{} // ServerKey -> instances
	for target, ids := range byTarget {
		list, err := e.cfg.Targets[target].ListRecoveryInstances(ctx, nil, ids)
		if err != nil {
			return nil, nil, fmt.Errorf("list recovery instances of target %s: %w", target, err)
		}
		for _, ri := range list {
			k := ServerKey(target, ri.SourceServerID)
			inst[k] = append(inst[k], ri)
		}
	}
	for _, st := range spec.Steps {
		for _, sv := range st.Servers {
			why := ""
			ri, ok := pickFailbackInstance(inst[ServerKey(sv.Target, sv.ID)])
			switch {
			case !ok:
				why = "has no recovery instance: there is nothing to fail back (recover it first)"
			case ri.FailbackState != ripcord.FailbackReadyForLaunch:
				why = fmt.Sprintf("recovery instance %s is %s, not FAILBACK_READY_FOR_LAUNCH", ri.ID, ri.FailbackState)
			default:
				continue
			}
			line := fmt.Sprintf("step %s: server %s %s", st.Name, sv.ID, why)
			if sv.Optional {
				warnings = append(warnings, line+" (optional; it will be tried anyway)")
				continue
			}
			notReady = append(notReady, line)
		}
	}
	return warnings, notReady, nil
}

// failbackHint is the remedy for servers not ready to fail back.
const failbackHint = "start failback replication and wait for FAILBACK_READY_FOR_LAUNCH: ripcord reprotect for servers that came from AWS, " +
	"the DRS Failback Client for on-premises servers; or mark the servers optional"

// failbackInstances finds the recovery instance each free server of a
// failback step fails back with (remembered in r.fbInst for the call that
// follows in this pass). A server without a recovery instance fails, with
// the reason; the others are returned.
func (r *run) failbackInstances(st *StepState, target string, free []string) ([]string, error) {
	if len(free) == 0 {
		return free, nil
	}
	api, err := r.api(target)
	if err != nil {
		return nil, err
	}
	list, err := api.ListRecoveryInstances(r.ctx, nil, free)
	r.heard(target, err)
	if err != nil {
		return nil, r.drsFailed(target, "DescribeRecoveryInstances (failback)", err)
	}
	byServer := map[string][]ripcord.RecoveryInstance{}
	for _, ri := range list {
		byServer[ri.SourceServerID] = append(byServer[ri.SourceServerID], ri)
	}
	if r.fbInst == nil {
		r.fbInst = map[string]string{}
	}
	var out []string
	for _, id := range free {
		ri, ok := pickFailbackInstance(byServer[id])
		if !ok {
			if err := r.record(r.ev(EvServerStatus, ServerStatus{Step: st.Spec.Name, Server: id, Status: srvFailed,
				Reason: "no recovery instance to fail back: DRS lists none for the server"})); err != nil {
				return nil, err
			}
			continue
		}
		r.fbInst[ServerKey(target, id)] = ri.ID
		out = append(out, id)
	}
	return out, nil
}

// startFailbackLaunch is startRecovery's call in failback mode: one
// StartFailbackLaunch for the batch's servers' recovery instances.
func (r *run) startFailbackLaunch(target string, servers []string, tags map[string]string) (ripcord.Job, error) {
	ids := make([]string, len(servers))
	for i, sv := range servers {
		id := r.fbInst[ServerKey(target, sv)]
		if id == "" {
			return ripcord.Job{}, &ripcord.Error{Code: ripcord.EINTERNAL, Message: fmt.Sprintf("server %s of target %s: no recovery instance was looked up before its failback", sv, target)}
		}
		ids[i] = id
	}
	return r.e.cfg.Targets[target].StartFailbackLaunch(r.ctx, ids, tags)
}
