package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// lockstep is one simulated clock for several runs at once: Sleep blocks
// until every running participant sleeps, then time jumps to the earliest
// wake-up and releases whoever is due. The runs then interleave as they
// would in real time, however the goroutines are scheduled.
type lockstep struct {
	mu       sync.Mutex
	c        *drssim.ManualClock
	running  int
	sleepers []sleeper
}

type sleeper struct {
	at   time.Time
	wake chan struct{}
}

func (l *lockstep) Now() time.Time { return l.c.Now() }

func (l *lockstep) Sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	s := sleeper{at: l.c.Now().Add(d), wake: make(chan struct{})}
	l.sleepers = append(l.sleepers, s)
	l.release()
	l.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave is called when a participant's run returns.
func (l *lockstep) leave() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running--
	l.release()
}

func (l *lockstep) release() {
	if len(l.sleepers) == 0 || len(l.sleepers) < l.running {
		return
	}
	next := l.sleepers[0].at
	for _, s := range l.sleepers {
		if s.at.Before(next) {
			next = s.at
		}
	}
	if next.After(l.c.Now()) {
		l.c.Set(next)
	}
	kept := l.sleepers[:0]
	for _, s := range l.sleepers {
		if s.at.After(next) {
			kept = append(kept, s)
			continue
		}
		close(s.wake)
	}
	l.sleepers = kept
}

// TestOneListingServesBothExecutions: two executions driven at once by one
// engine in one target (the database, app and web tiers split between
// them) share the target's listings. Each alone makes about 126
// DescribeJobs calls; each listing its own, the two made about 250; sharing,
// 158 to 170 (their needs differ: while one waits on a server in its last
// stage, the other may not).
func TestOneListingServesBothExecutions(t *testing.T) {
	t.Parallel()
	half := func(a, b, c string) engine.Spec {
		return spec(ripcord.FailureStop,
			launchStep("database", nil, a), launchStep("app", []string{"database"}, b), launchStep("web", []string{"app"}, c))
	}
	alone := newEnv(t, nil)
	eng := alone.engine(engine.Hooks{})
	alone.start(eng, "exec-a", half(db1, app1, web1))
	wantState(t, alone.run(eng, "exec-a"), ripcord.ExecSucceeded)
	one := alone.sim.OperationCounts()["DescribeJobs"]

	e := newEnv(t, nil)
	clock := &lockstep{c: e.clock, running: 2}
	both := e.engineWith(func(c *engine.Config) { c.Clock = clock })
	e.start(both, "exec-a", half(db1, app1, web1))
	e.start(both, "exec-b", half(db2, app2, web2))
	var wg sync.WaitGroup
	states := make([]*engine.State, 2)
	errs := make([]error, 2)
	for i, id := range []string{"exec-a", "exec-b"} {
		wg.Go(func() {
			defer clock.leave()
			states[i], errs[i] = both.Run(context.Background(), id)
		})
	}
	wg.Wait()
	for i := range states {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		wantState(t, states[i], ripcord.ExecSucceeded)
	}
	for id, jobs := range e.launchJobsOf() {
		if len(jobs) != 1 {
			t.Errorf("server %s is in %d LAUNCH jobs; want 1", id, len(jobs))
		}
	}
	two := e.sim.OperationCounts()["DescribeJobs"]
	t.Logf("DescribeJobs: %d for one execution alone, %d for two at once; listings %v", one, two, both.JobListings("prod"))
	if float64(two) > 1.5*float64(one) {
		t.Errorf("two executions at once made %d DescribeJobs calls, one alone %d; want them to share listings (at most 1.5x; 2x without sharing)", two, one)
	}
}
