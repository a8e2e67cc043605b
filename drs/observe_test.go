package drs_test

import (
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
)

// observed collects a Client's Observe calls.
type observed struct {
	mu       sync.Mutex
	attempts []drs.Attempt
}

func (o *observed) observe(a drs.Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, a)
}

func (o *observed) byOutcome() map[string]map[string]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]map[string]int64{}
	for _, a := range o.attempts {
		if out[a.Operation] == nil {
			out[a.Operation] = map[string]int64{}
		}
		out[a.Operation][a.Outcome]++
	}
	return out
}

// TestObserveCountsEveryAttempt: the Observe hook is called once per
// request that reached DRS, the SDK's retries included, with DRS's error
// code as the outcome; what it reports is exactly what the simulator
// counted, per operation and outcome. A request the caller's guard holds
// back is not observed, and neither simulator nor hook counts it.
func TestObserveCountsEveryAttempt(t *testing.T) {
	var o observed
	e := newEnv(t, threeTier(t), func(c *drs.Config) { c.Observe = o.observe })
	// The seeded TERMINATE job holds every server: ConflictException.
	if _, err := e.client.StartRecovery(ctx(t), launch(db1), true, nil); !drs.IsConflict(err) {
		t.Fatalf("want a conflict, got %v", err)
	}
	// Two throttled reads and then a good one: three attempts of one call.
	e.addFault(drssim.Fault{Kind: drssim.FaultThrottleStorm, Operation: "DescribeSourceServers", Count: 2})
	if _, err := e.client.ListSourceServers(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	// A 503 the SDK retries.
	e.addFault(drssim.Fault{Kind: drssim.FaultErrorRate, Operation: "DescribeJobs", Fraction: 1, Status: 503, Count: 1})
	if _, err := e.client.JobsCreatedSince(ctx(t), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Held back by the caller's guard: never sent.
	if _, err := e.client.JobsCreatedSince(ripcord.WithCallGuard(ctx(t), func() error { return errors.New("lease lost") }), time.Time{}); err == nil {
		t.Fatal("a failing guard let the call through")
	}
	// A lost answer.
	e.idle()
	e.addFault(drssim.Fault{Kind: drssim.FaultDropResponse, Operation: "StartRecovery"})
	if _, err := e.client.StartRecovery(ctx(t), launch(db2), true, nil); !drs.IsUnclear(err) {
		t.Fatalf("want an unclear outcome, got %v", err)
	}

	want := map[string]map[string]int64{
		"StartRecovery":         {"ConflictException": 1, drs.OutcomeNoResponse: 1},
		"DescribeSourceServers": {"ThrottlingException": 2, drs.OutcomeOK: 1},
		"DescribeJobs":          {"ServiceUnavailableException": 1, drs.OutcomeOK: 1},
	}
	got := o.byOutcome()
	sim := e.sim.OutcomeCounts()
	for op, w := range want {
		if !maps.Equal(got[op], w) {
			t.Errorf("%s: observed %v; want %v", op, got[op], w)
		}
	}
	// Every operation, those of e.idle's listings included: hook and
	// simulator agree, and the simulator's outcomes add up to its
	// per-operation counts.
	if len(got) != len(sim) {
		t.Errorf("observed operations %v; simulator %v", got, sim)
	}
	for op, n := range e.sim.OperationCounts() {
		if !maps.Equal(got[op], sim[op]) {
			t.Errorf("%s: observed %v; simulator counted %v", op, got[op], sim[op])
		}
		var sum int64
		for _, v := range sim[op] {
			sum += v
		}
		if sum != n {
			t.Errorf("%s: simulator's outcomes %v add up to %d; it counted %d requests", op, sim[op], sum, n)
		}
	}
	for _, a := range o.attempts {
		if a.Latency < 0 {
			t.Errorf("attempt %+v: negative latency", a)
		}
	}
}
