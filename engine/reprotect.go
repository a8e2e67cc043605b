package engine

import (
	"context"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// Reprotect (docs/failback.md): after a recovery, reverse replication of a
// plan's recovered servers that came from AWS (EC2-origin servers), so that
// their recovery instances replicate back towards the origin region and
// can later be failed back. A server whose recovery instance is on premises
// in origin cannot be reprotected by DRS: it gets a message saying how it
// fails back instead.

// Reverser is what reprotect needs of a target's DRS besides ripcord.DRS:
// ReverseReplication (drs.Client has it).
type Reverser interface {
	ReverseReplication(ctx context.Context, instanceID string) (string, error)
}

// Reprotect outcomes.
const (
	ReprotectDone       = "reprotected"          // reverse replication started (or already running)
	ReprotectOnPremises = "on-premises"          // not from AWS: fail back with the DRS Failback Client
	ReprotectNoInstance = "no-recovery-instance" // not recovered: nothing to reprotect
	ReprotectFailed     = "failed"               // DRS refused or did not answer
)

// ReprotectResult is what reprotect did for one server of the plan.
type ReprotectResult struct {
	Step     string `json:"step"`
	Target   string `json:"target"`
	Server   string `json:"server"`
	Instance string `json:"recoveryInstance,omitempty"`
	Outcome  string `json:"outcome"`
	// ReversedARN is the source server replicating back (reprotected).
	ReversedARN string `json:"reversedSourceServerArn,omitempty"`
	// FailbackState is the instance's failback state before the call.
	FailbackState string `json:"failbackState,omitempty"`
	Message       string `json:"message"`
}

// Reprotect resolves the plan's servers in DRS and, for each recovered
// server that came from AWS, calls ReverseReplication on its recovery
// instance (not a drill instance). Every target must call DRS in the
// account it declares first. A DRS error for one server is its result and
// the others go on; an error is returned only when nothing could be done
// (the plan, the accounts, a listing).
func Reprotect(ctx context.Context, f *ripcord.PlanFile, planName string, targets map[string]ripcord.DRS) ([]ReprotectResult, error) {
	return eachRecovered(ctx, f, planName, targets, func(res ReprotectResult, ri ripcord.RecoveryInstance) ReprotectResult {
		if ri.Origin != ripcord.OriginAWS {
			res.Outcome = ReprotectOnPremises
			res.Message = fmt.Sprintf("recovery instance %s came from %s, not from AWS: DRS reverses replication only for EC2-origin servers; "+
				"fail it back with the DRS Failback Client on the source side, then ripcord run --failback", ri.ID, originName(ri.Origin))
			return res
		}
		rev, isRev := targets[res.Target].(Reverser)
		if !isRev {
			res.Outcome, res.Message = ReprotectFailed, "the DRS client of target "+res.Target+" cannot reverse replication"
			return res
		}
		arn, err := rev.ReverseReplication(ctx, ri.ID)
		if err != nil {
			return failedResult(res, err)
		}
		res.Outcome, res.ReversedARN = ReprotectDone, arn
		res.Message = fmt.Sprintf("recovery instance %s replicates back to %s; fail back once it is FAILBACK_READY_FOR_LAUNCH", ri.ID, arn)
		return res
	})
}

// Stopper is what stopping a failback needs of a target's DRS besides
// ripcord.DRS: StopFailback (drs.Client has it).
type Stopper interface {
	StopFailback(ctx context.Context, instanceID string) error
}

// Outcomes of StopFailback, besides ReprotectNoInstance and ReprotectFailed.
const (
	FailbackStopped   = "stopped"         // the instance's failback was stopped: FAILBACK_NOT_STARTED again
	FailbackNotActive = "nothing-to-stop" // not started, or completed: nothing was called
)

// StopFailback gives up the failback of a plan's recovered servers: for
// each recovery instance whose failback is under way (in progress, ready
// for launch, or in error) it calls DRS StopFailback, which puts it back
// to FAILBACK_NOT_STARTED (its failback replication ends; reprotect starts
// it again). An instance whose failback has not started, or completed, is
// left alone. Resolution, account checks and errors are Reprotect's.
func StopFailback(ctx context.Context, f *ripcord.PlanFile, planName string, targets map[string]ripcord.DRS) ([]ReprotectResult, error) {
	return eachRecovered(ctx, f, planName, targets, func(res ReprotectResult, ri ripcord.RecoveryInstance) ReprotectResult {
		switch ri.FailbackState {
		case "", ripcord.FailbackNotStarted, ripcord.FailbackCompleted:
			res.Outcome = FailbackNotActive
			res.Message = fmt.Sprintf("recovery instance %s is %s: no failback to stop", ri.ID, dashIfEmpty(ri.FailbackState))
			return res
		}
		stop, ok := targets[res.Target].(Stopper)
		if !ok {
			res.Outcome, res.Message = ReprotectFailed, "the DRS client of target "+res.Target+" cannot stop a failback"
			return res
		}
		if err := stop.StopFailback(ctx, ri.ID); err != nil {
			return failedResult(res, err)
		}
		res.Outcome = FailbackStopped
		res.Message = fmt.Sprintf("recovery instance %s: failback stopped (it was %s); it is FAILBACK_NOT_STARTED, and ripcord reprotect starts it again", ri.ID, ri.FailbackState)
		return res
	})
}

// eachRecovered resolves the plan's servers in DRS (after checking every
// target's account) and returns do's result for each server with its
// recovery instance: the one ready for failback if any, else the latest;
// never a drill instance. A server without one is ReprotectNoInstance.
func eachRecovered(ctx context.Context, f *ripcord.PlanFile, planName string, targets map[string]ripcord.DRS,
	do func(ReprotectResult, ripcord.RecoveryInstance) ReprotectResult) ([]ReprotectResult, error) {
	one, err := f.Extract(planName)
	if err != nil {
		return nil, err
	}
	if err := CheckAccounts(ctx, one.Targets, targets); err != nil {
		return nil, err
	}
	resolved, _, err := ResolveServers(ctx, one, planName, targets)
	if err != nil {
		return nil, err
	}
	var out []ReprotectResult
	for _, rs := range resolved {
		byTarget := map[string][]string{}
		for _, sv := range rs.Servers {
			byTarget[sv.Target] = append(byTarget[sv.Target], sv.ID)
		}
		inst := map[string][]ripcord.RecoveryInstance{}
		for target, ids := range byTarget {
			list, err := targets[target].ListRecoveryInstances(ctx, nil, ids)
			if err != nil {
				return out, fmt.Errorf("list recovery instances of target %s: %w", target, err)
			}
			for _, ri := range list {
				k := ServerKey(target, ri.SourceServerID)
				inst[k] = append(inst[k], ri)
			}
		}
		for _, sv := range rs.Servers {
			res := ReprotectResult{Step: rs.Step, Target: sv.Target, Server: sv.ID}
			ri, ok := pickFailbackInstance(inst[ServerKey(sv.Target, sv.ID)])
			if !ok {
				res.Outcome = ReprotectNoInstance
				res.Message = "no recovery instance (only drill instances, or none): recover the server first"
				out = append(out, res)
				continue
			}
			res.Instance, res.FailbackState = ri.ID, ri.FailbackState
			out = append(out, do(res, ri))
		}
	}
	return out, nil
}

// failedResult is res failed with DRS's error and its hint.
func failedResult(res ReprotectResult, err error) ReprotectResult {
	res.Outcome, res.Message = ReprotectFailed, err.Error()
	if h := ripcord.ErrorHint(err); h != "" {
		res.Message += " (" + h + ")"
	}
	return res
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "without a failback state"
	}
	return s
}

func originName(o string) string {
	if o == "" {
		return "an unknown origin"
	}
	return o
}
