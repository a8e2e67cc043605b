package engine_test

import (
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// stormRun is what one three-tier drill cost under a fault.
type stormRun struct {
	makespan time.Duration  // simulated, from ExecutionStarted to ExecutionFinished
	requests int64          // DRS requests the simulator received
	faulted  int            // requests the fault rule hit
	refused  map[string]int // LaunchRefused events by code
	launches map[string]int // StartRecovery answers by error type ("" for success)
}

func runStorm(t *testing.T, fault *drssim.Fault) stormRun {
	t.Helper()
	e := newEnv(t, nil)
	rec := e.record(true)
	var faultID string
	if fault != nil {
		id, err := e.sim.AddFault(*fault)
		if err != nil {
			t.Fatal(err)
		}
		faultID = id
	}
	eng := e.engineWith(nil)
	e.start(eng, "exec-s", threeTierSpec(ripcord.ModeDrill))
	s := e.run(eng, "exec-s")
	wantState(t, s, ripcord.ExecSucceeded)
	checkThreeTier(t, e) // exactly one LAUNCH job per server and per wave, in order
	out := stormRun{makespan: s.Finished.Sub(s.Started), requests: e.totalRequests(), refused: map[string]int{},
		launches: rec.answers("StartRecovery")}
	for _, f := range e.sim.Faults() {
		if f.ID == faultID {
			out.faulted = f.Hits
		}
	}
	for _, d := range evData[evRefused](t, e.events("exec-s"), engine.EvLaunchRefused) {
		out.refused[d.Code]++
	}
	return out
}

// TestStormsSlowButDoNotFail: a throttling storm and a 5xx storm never fail
// the drill nor launch a server twice; they cost simulated time or DRS
// requests compared with the clean run.
func TestStormsSlowButDoNotFail(t *testing.T) {
	t.Parallel() // its own simulator and store
	clean := runStorm(t, nil)
	t.Logf("clean: makespan %s, %d DRS requests", clean.makespan, clean.requests)
	cases := []struct {
		name  string
		fault drssim.Fault
	}{
		{"throttle-storm", drssim.Fault{Kind: drssim.FaultThrottleStorm, Count: 30}},
		{"throttle-storm-on-launches", drssim.Fault{Kind: drssim.FaultThrottleStorm, Operation: "StartRecovery", Count: 4}},
		{"5xx-storm", drssim.Fault{Kind: drssim.FaultErrorRate, Fraction: 0.5, Status: 503, For: drssim.Duration(15 * time.Minute)}},
		{"5xx-storm-on-launches", drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "StartRecovery", Fraction: 0.5, Status: 503, For: drssim.Duration(15 * time.Minute)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runStorm(t, &tc.fault)
			t.Logf("%s: makespan %s (clean %s), %d DRS requests (clean %d), %d hit by the fault, launches refused %v, StartRecovery answers %v",
				tc.name, got.makespan, clean.makespan, got.requests, clean.requests, got.faulted, got.refused, got.launches)
			if got.faulted == 0 {
				t.Fatal("the fault hit no request")
			}
			if got.makespan <= clean.makespan && got.requests <= clean.requests {
				t.Errorf("the storm cost nothing: makespan %s vs %s, requests %d vs %d", got.makespan, clean.makespan, got.requests, clean.requests)
			}
			if got.refused[ripcord.ECONFLICT] > 0 {
				t.Errorf("launches refused for a conflict or a quota: %v", got.refused)
			}
			if got.launches[""] != 3 || got.launches["ConflictException"] > 0 || got.launches["ServiceQuotaExceededException"] > 0 {
				t.Errorf("StartRecovery answers %v: want exactly 3 successes (one per wave), no conflict, no quota error", got.launches)
			}
		})
	}
}
