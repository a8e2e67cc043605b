package engine

import (
	"context"
	"fmt"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
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
	one, err := f.Extract(planName)
	if err != nil {
		return nil, err
	}
	if err := CheckAccounts(ctx, one.Targets, targets); err != nil {
		return nil, err
	}
	servers := map[string][]plan.SourceServerInfo{}
	for _, t := range one.Targets {
		list, err := targets[t.Name].ListSourceServers(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("list source servers of target %s: %w", t.Name, err)
		}
		for _, s := range list {
			servers[t.Name] = append(servers[t.Name], plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
		}
	}
	resolved, err := plan.Resolve(one, planName, servers)
	if err != nil {
		return nil, PlanError(err)
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
			switch {
			case !ok:
				res.Outcome = ReprotectNoInstance
				res.Message = "no recovery instance (only drill instances, or none): recover the server first; there is nothing to reprotect"
			case ri.Origin != ripcord.OriginAWS:
				res.Instance, res.FailbackState, res.Outcome = ri.ID, ri.FailbackState, ReprotectOnPremises
				res.Message = fmt.Sprintf("recovery instance %s came from %s, not from AWS: DRS reverses replication only for EC2-origin servers; "+
					"fail it back with the DRS Failback Client on the source side, then ripcord run --failback", ri.ID, originName(ri.Origin))
			default:
				res.Instance, res.FailbackState = ri.ID, ri.FailbackState
				rev, isRev := targets[sv.Target].(Reverser)
				if !isRev {
					res.Outcome, res.Message = ReprotectFailed, "the DRS client of target "+sv.Target+" cannot reverse replication"
					break
				}
				arn, err := rev.ReverseReplication(ctx, ri.ID)
				if err != nil {
					res.Outcome, res.Message = ReprotectFailed, err.Error()
					if h := ripcord.ErrorHint(err); h != "" {
						res.Message += " (" + h + ")"
					}
					break
				}
				res.Outcome, res.ReversedARN = ReprotectDone, arn
				res.Message = fmt.Sprintf("recovery instance %s replicates back to %s; fail back once it is FAILBACK_READY_FOR_LAUNCH", ri.ID, arn)
			}
			out = append(out, res)
		}
	}
	return out, nil
}

func originName(o string) string {
	if o == "" {
		return "an unknown origin"
	}
	return o
}
