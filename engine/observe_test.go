package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// lockedBuffer is a log sink the driver's and the test's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestDriverLogsAndHooks: a three-tier drill meets a ConflictException (a
// job older than the first listing's horizon holds app1), a throttled
// StartRecovery, a lost StartRecovery answer, a DRS outage while the
// database step looks at the active jobs, and an optional web server that
// fails; then it is cleaned up. Every JSON line the driver logs carries
// the execution's ID; every line about a launch step (its events, a batch,
// a server, the outage during its launch) carries the step, the right one.
// OnEvent sees every event of the log exactly once, in order, with the
// state after it; OnQuota sees the launch decisions.
func TestDriverLogsAndHooks(t *testing.T) {
	t.Parallel()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Regions[0].Jobs = append(sc.Regions[0].Jobs[:0], drssim.JobSpec{ID: "drsjob-0ld0000000000000a", Type: "LAUNCH",
		CreatedAgo: drssim.Duration(30 * time.Hour), EndsAfter: drssim.Duration(10 * time.Minute), Servers: []string{app1}})
	e := newEnv(t, sc)
	e.record(true) // no real-time Retry-After waits
	for _, f := range []drssim.Fault{
		{Kind: drssim.FaultErrorRate, Operation: "DescribeJobs", Fraction: 1, Status: 503, Count: 3},
		{Kind: drssim.FaultThrottleStorm, Operation: "StartRecovery", Count: 1},
		{Kind: drssim.FaultDropResponse, Operation: "StartRecovery", Count: 1}, // the launch after the throttled one
		{Kind: drssim.FaultFailServer, Servers: []string{web2}, Stage: "launch"},
	} {
		if _, err := e.sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	var logs lockedBuffer
	var mu sync.Mutex
	var seen []ripcord.Event
	var quotas []engine.QuotaHeadroom
	eng := e.engineWith(func(c *engine.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.OnEvent = func(s *engine.State, ev ripcord.Event) {
			mu.Lock()
			defer mu.Unlock()
			if s.ID != ev.ExecutionID || s.LastSeq < ev.Seq {
				t.Errorf("OnEvent(%s seq %d) with the state of %s at seq %d", ev.ExecutionID, ev.Seq, s.ID, s.LastSeq)
			}
			seen = append(seen, ev)
		}
		c.OnQuota = func(q engine.QuotaHeadroom) {
			mu.Lock()
			defer mu.Unlock()
			quotas = append(quotas, q)
		}
	})
	sp := spec(ripcord.FailureStop, launchStep("database", nil, db1, db2), launchStep("app", []string{"database"}, app1, app2),
		launchStep("web", []string{"app"}, web1, web2))
	sp.Steps[2].Servers[1].Optional = true
	e.start(eng, "exec-log", sp)
	wantState(t, e.run(eng, "exec-log"), ripcord.ExecSucceeded)
	if err := eng.Cleanup(context.Background(), "exec-log", "tester"); err != nil {
		t.Fatal(err)
	}
	s := e.run(eng, "exec-log")
	if !s.Cleanup.Done {
		t.Fatalf("cleanup: %+v", s.Cleanup)
	}

	stepOf := map[string]string{} // server -> step
	for _, st := range sp.Steps {
		for _, sv := range st.Servers {
			stepOf[sv.ID] = st.Name
		}
	}
	stepEvents := map[string]bool{engine.EvStepStarted: true, engine.EvStepFinished: true, engine.EvLaunchRequested: true,
		engine.EvJobCreated: true, engine.EvJobAdopted: true, engine.EvLaunchUnclear: true, engine.EvLaunchRefused: true, engine.EvServerStatus: true, engine.EvServersBlocked: true}
	counts := map[string]int{}
	outageInStep := false
	for _, l := range logs.lines(t) {
		msg, _ := l["msg"].(string)
		step, _ := l["step"].(string)
		counts[msg]++
		if l["execution"] != "exec-log" {
			t.Errorf("log line without the execution: %v", l)
		}
		if stepEvents[msg] && step == "" {
			t.Errorf("%s logged without its step: %v", msg, l)
		}
		if sv, ok := l["server"].(string); ok && step != stepOf[sv] {
			t.Errorf("line about server %s (step %s) says step %q: %v", sv, stepOf[sv], step, l)
		}
		if b, ok := l["batch"].(string); ok {
			want := ""
			if bt := s.Batches[b]; bt != nil && !bt.Terminate {
				want = bt.Step
			}
			if step != want {
				t.Errorf("line about batch %s says step %q; want %q: %v", b, step, want, l)
			}
		}
		if strings.HasPrefix(msg, "DRS call failed") && step == "database" {
			outageInStep = true
		}
	}
	for _, typ := range []string{engine.EvStepStarted, engine.EvLaunchRefused, engine.EvLaunchUnclear, engine.EvJobAdopted,
		engine.EvServerStatus, engine.EvExecutionFinished,
		engine.EvTerminateRequested, engine.EvCleanupFinished, engine.EvDriverStopped} {
		if counts[typ] == 0 {
			t.Errorf("no %s line logged; lines by message: %v", typ, counts)
		}
	}
	if !outageInStep {
		t.Errorf("no 'DRS call failed' warning carrying step database; lines by message: %v", counts)
	}

	evs := e.events("exec-log")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(evs) {
		t.Fatalf("OnEvent saw %d events; the log has %d", len(seen), len(evs))
	}
	for i, ev := range evs {
		if seen[i].Seq != ev.Seq || seen[i].Type != ev.Type {
			t.Errorf("OnEvent #%d: %s seq %d; the log has %s seq %d", i, seen[i].Type, seen[i].Seq, ev.Type, ev.Seq)
		}
	}
	if len(quotas) == 0 || quotas[0] != (engine.QuotaHeadroom{Target: "prod", Jobs: 20, Servers: 500}) {
		t.Errorf("quota headroom seen %v; want the first launch decision to see all of the default quotas free", quotas)
	}
}

// raceStore lets a command in just before a driver's first append, as
// when `ripcord serve` starts driving an execution between its creation
// and the cleanup schedule its start request asked for.
type raceStore struct {
	ripcord.Store
	once   sync.Once
	before func()
}

func (s *raceStore) Append(ctx context.Context, id string, after, epoch int64, evs []ripcord.Event, upd *ripcord.ExecutionUpdate) (int64, error) {
	if len(evs) > 0 && evs[0].Type == engine.EvDriverStarted {
		s.once.Do(s.before)
	}
	return s.Store.Append(ctx, id, after, epoch, evs, upd)
}

// TestDriverStartsAfterARacingCommand: a cleanup scheduled between the
// driver taking the lease and recording its start does not make Run fail:
// the start is recorded after it, and the drill runs and is cleaned up.
func TestDriverStartsAfterARacingCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	other := e.engine(engine.Hooks{})
	rs := &raceStore{Store: e.store}
	rs.before = func() {
		if err := other.ScheduleCleanup(context.Background(), "exec-race", "alice", time.Minute); err != nil {
			t.Errorf("scheduling the cleanup: %v", err)
		}
	}
	eng := e.engineWith(func(c *engine.Config) { c.Store = rs })
	e.start(eng, "exec-race", threeTierSpec(ripcord.ModeDrill))
	s, err := eng.Run(context.Background(), "exec-race")
	if err != nil {
		t.Fatalf("Run after a racing command: %v", err)
	}
	wantState(t, s, ripcord.ExecSucceeded)
	if !s.Cleanup.Done {
		t.Errorf("cleanup %+v; want the scheduled cleanup done", s.Cleanup)
	}
}
