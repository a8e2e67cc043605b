package supervisor_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestJobLog: after a drill, each of its DRS jobs' logs is read through the
// supervisor (JOB_START first, JOB_END last, the job's servers named), over
// one connection per target that SourceServers and Clients share; an unknown job is
// DRS's error, not a panic or an empty log.
func TestJobLog(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	var connects atomic.Int32
	connect := w.connect
	w.connect = func(ctx context.Context, targets []ripcord.Target) (map[string]ripcord.DRS, error) {
		connects.Add(1)
		return connect(ctx, targets)
	}
	w.sup = w.newSupervisor()
	w.run()
	b := w.begin("drill-log")
	s := w.next()
	if s.id != "drill-log" || s.err != nil || s.s.State != ripcord.ExecSucceeded {
		t.Fatalf("driver stopped: %s %v; want the drill succeeded", s.id, s.err)
	}
	target := b.Spec.Targets[0]
	ctx := context.Background()
	connects.Store(0) // the engine's own connection is not the inventory's
	if _, err := w.sup.SourceServers(ctx, target); err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for _, batch := range s.s.Batches {
		if batch.JobID == "" {
			continue
		}
		jobs++
		log, err := w.sup.JobLog(ctx, target, batch.JobID)
		if err != nil {
			t.Fatalf("job %s: %v", batch.JobID, err)
		}
		if len(log) < 2 || log[0].Event != "JOB_START" || log[len(log)-1].Event != "JOB_END" {
			t.Errorf("job %s: log %+v; want JOB_START first and JOB_END last", batch.JobID, log)
		}
		named := map[string]bool{}
		for _, it := range log {
			named[it.SourceServerID] = true
		}
		for _, id := range batch.Servers {
			if !named[id] {
				t.Errorf("job %s: the log never names its server %s", batch.JobID, id)
			}
		}
	}
	if jobs != 3 {
		t.Errorf("%d jobs; want one per tier", jobs)
	}
	// The readiness checks' clients are the same connection.
	if clients, err := w.sup.Clients(ctx, []ripcord.Target{target}); err != nil || clients[target.Name] == nil {
		t.Fatalf("Clients: %v, %v", clients, err)
	}
	if n := connects.Load(); n != 1 {
		t.Errorf("%d connections for SourceServers, JobLog and Clients of one target; want 1", n)
	}
	if log, err := w.sup.JobLog(ctx, target, "drsjob-00000000000000000"); err == nil {
		t.Errorf("an unknown job: %+v; want DRS's error", log)
	}
}
