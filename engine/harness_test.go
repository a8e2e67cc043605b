package engine_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/sqlite"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// noWait is an SDK retry backoff that does not wait.
type noWait struct{}

func (noWait) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// env is a simulator on real HTTP, the real DRS adapter pointed at it, a
// SQLite store in a temporary file, and an engine.
type env struct {
	t      *testing.T
	sim    *drssim.Sim
	clock  *drssim.ManualClock
	srv    *httptest.Server
	dbPath string
	store  ripcord.Store
	drs    *drs.Client
}

func newEnv(t *testing.T, sc *drssim.Scenario) *env {
	t.Helper()
	if sc == nil {
		var err error
		if sc, err = drssim.LoadScenario("three-tier"); err != nil {
			t.Fatal(err)
		}
	}
	if sc.Throttle.Rate == 0 {
		sc.Throttle.Rate = -1
	}
	clock := drssim.NewManualClock(t0)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &env{t: t, sim: sim, clock: clock, srv: srv, dbPath: filepath.Join(t.TempDir(), "ripcord.db")}
	e.store = e.openStore()
	e.drs = e.client("AKIDTEST", "us-east-1")
	return e
}

func (e *env) openStore() ripcord.Store {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), e.dbPath, sqlite.WithClock(e.clock.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) client(key, region string) *drs.Client {
	e.t.Helper()
	c, err := drs.New(context.Background(), drs.Config{
		Region:       region,
		Endpoint:     e.srv.URL,
		Credentials:  credentials.NewStaticCredentialsProvider(key, "secret", ""),
		RateLimit:    10000,
		RetryBackoff: noWait{},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) engine(hooks engine.Hooks) *engine.Engine {
	return engine.New(engine.Config{
		Store:   e.store,
		Targets: map[string]ripcord.DRS{"prod": e.drs},
		Clock:   e.clock, // its Sleep moves simulated time forward
		Hooks:   hooks,
		// In-process tests: an engine whose Run returned is gone, as a
		// process that was killed (a crash hook stops it without
		// releasing its lease). Tests of racing drivers set their own.
		OwnerGone: func(ripcord.LeaseOwner) bool { return true },
	})
}

// threeTierSpec is the example plan resolved against the three-tier scenario.
func threeTierSpec(mode ripcord.Mode) engine.Spec {
	srv := func(ids ...string) []engine.SpecServer {
		var out []engine.SpecServer
		for _, id := range ids {
			out = append(out, engine.SpecServer{ID: id, Target: "prod"})
		}
		return out
	}
	return engine.Spec{
		Plan: "orders", PlanHash: "test-hash", Mode: mode,
		Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: 15 * time.Minute, RTOTarget: time.Hour},
		Steps: []engine.SpecStep{
			{Name: "database", Kind: ripcord.StepLaunch, Servers: srv("s-3c1730a9e0771ea14", "s-3d75cdc0d9a28a725")},
			{Name: "app", Kind: ripcord.StepLaunch, After: []string{"database"}, Servers: srv("s-3afa164776f93ce4f", "s-3c63bb8be30d7d071")},
			{Name: "web", Kind: ripcord.StepLaunch, After: []string{"app"}, Servers: srv("s-3578f52ef3bdd58b4", "s-3b9401c1cd270a7a8")},
		},
	}
}

// start saves the plan version and records a new execution.
func (e *env) start(eng *engine.Engine, id string, spec engine.Spec) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: spec.Plan, Source: []byte("plan"), Created: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if err := eng.Start(ctx, id, spec); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) region() drssim.RegionView {
	e.t.Helper()
	st := e.sim.State(drssim.StateFilter{Account: "111122223333", Region: "us-east-1"})
	if len(st.Regions) != 1 {
		e.t.Fatalf("regions: %d", len(st.Regions))
	}
	return st.Regions[0]
}

// launchJobsOf returns the simulator's LAUNCH jobs created by clients (not
// the scenario), by source server.
func (e *env) launchJobsOf() map[string][]drssim.JobView {
	out := map[string][]drssim.JobView{}
	for _, j := range e.region().Jobs {
		if j.Type != "LAUNCH" || j.Foreign {
			continue
		}
		for _, s := range j.Servers {
			out[s.SourceServerID] = append(out[s.SourceServerID], j)
		}
	}
	return out
}

func (e *env) events(id string) []ripcord.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), id, 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			e.t.Fatalf("event %d has seq %d: the log has a gap", i+1, ev.Seq)
		}
	}
	return evs
}

var _ = fmt.Sprintf
var _ = aws.String
