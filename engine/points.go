package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ripcord-dr/ripcord"
)

// Recovery points: what data each launched recovery instance was launched
// from. DRS says it only on the recovery instance
// (DescribeRecoveryInstances, pointInTimeSnapshotDateTime), so the engine
// reads it once no launch of the execution is running (no step running: the
// execution ends or waits for a person) and records it as EvRecoveryPoints.
// No launch waits for this read: the next StartRecovery of a plan never
// comes after it in the same pass. Reports measure the RPO achieved from it.

// uncheckedPoints lists, by target, the launched attempts whose point in
// time has not been looked for: server and instance.
func (s *State) uncheckedPoints() map[string][]RecoveryPoint {
	out := map[string][]RecoveryPoint{}
	for _, name := range s.Order {
		st := s.Steps[name]
		for _, id := range sortedKeys(st.Servers) {
			sv := st.Servers[id]
			for _, a := range sv.History {
				if a.Status == srvLaunched && a.InstanceID != "" && !a.PointChecked {
					out[sv.Target] = append(out[sv.Target], RecoveryPoint{Server: sv.ID, Instance: a.InstanceID})
				}
			}
		}
	}
	return out
}

// recordPoints reads the point in time of every launched instance whose
// point is not recorded yet, one DescribeRecoveryInstances per target, and
// records it. A failed read is recorded with its error, once: the point is
// evidence for reports, and never holds up or pauses the execution.
func (r *run) recordPoints() error {
	if r.s.Spec.Mode == ripcord.ModeFailback {
		return nil // a failback's instances are the recovery's: no new data point
	}
	todo := r.s.uncheckedPoints()
	for _, target := range sortedKeys(todo) {
		points := todo[target]
		api, err := r.api(target)
		if err != nil {
			return err
		}
		ids := make([]string, len(points))
		for i, p := range points {
			ids[i] = p.Instance
		}
		insts, err := api.ListRecoveryInstances(r.ctx, ids, nil)
		r.heard(target, err)
		d := RecoveryPoints{Target: target, Points: points}
		if err != nil {
			if lost := (*LostLeaseError)(nil); errors.As(err, &lost) || r.ctx.Err() != nil {
				return err
			}
			d.Error = fmt.Sprintf("DescribeRecoveryInstances failed: %v", err)
		}
		for i, p := range d.Points {
			if k := slices.IndexFunc(insts, func(in ripcord.RecoveryInstance) bool { return in.ID == p.Instance }); k >= 0 {
				d.Points[i].PointInTime = insts[k].PointInTime.UTC()
			}
		}
		if err := r.record(r.ev(EvRecoveryPoints, d)); err != nil {
			return err
		}
	}
	return nil
}
