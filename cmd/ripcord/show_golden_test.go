package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/sqlite"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenStart is when the golden drill starts, in simulated time.
var goldenStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// TestExecShowGolden records a drill on a manual clock, so that every time
// and every ID is the same on every run: the first launch of a database
// server fails, the drill pauses, alice retries the step, the drill
// succeeds and alice cleans it up. `exec show` of its log must match
// testdata/exec-show.golden line for line (go test -run TestExecShowGolden
// -update rewrites it after a deliberate change).
func TestExecShowGolden(t *testing.T) {
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "golden.db")
	recordGoldenDrill(ctx, t, db)

	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"exec", "show", "golden-1", "--db", db})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("exec show: %v\n%s", err, errOut.String())
	}
	path := filepath.Join("testdata", "exec-show.golden")
	if *updateGolden {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestExecShowGolden -update to write it)", err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("exec show differs from %s (go test -run TestExecShowGolden -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// recordGoldenDrill runs the golden drill through the engine against an
// in-process simulator on a manual clock, with a fixed lease owner, and
// leaves its log in the store at db.
func recordGoldenDrill(ctx context.Context, t *testing.T, db string) {
	t.Helper()
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.Throttle.Rate = -1 // the token bucket counts real seconds
	clock := drssim.NewManualClock(goldenStart)
	sim, err := drssim.New(drssim.Options{Scenario: sc, Clock: clock, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := drs.New(ctx, drs.Config{Region: "us-east-1", Endpoint: srv.URL, STSEndpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDGOLDEN", "secret", ""), RateLimit: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	file, err := plan.Decode("audit.yaml", fmt.Appendf(nil, auditPlanYAML, "pause"))
	if err != nil {
		t.Fatal(err)
	}
	one, err := file.Extract("audit")
	if err != nil {
		t.Fatal(err)
	}
	resolved, _, err := engine.ResolveServers(ctx, one, "audit", map[string]ripcord.DRS{"dr": client})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := engine.BuildSpec(one, "audit", ripcord.ModeDrill, resolved)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: "audit", Source: []byte("golden"), Created: goldenStart}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: store, Targets: map[string]ripcord.DRS{"dr": client}, Clock: clock, Actor: "ripcord",
		Seed: 1, Logger: slog.New(slog.DiscardHandler),
		Owner: ripcord.LeaseOwner{Host: "dr-runner-1", PID: 4242, Started: goldenStart}})
	const id = "golden-1"
	if err := eng.Start(ctx, id, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddFault(drssim.Fault{Kind: drssim.FaultFailServer, Servers: []string{auditDB1}, Stage: "launch",
		Message: "insufficient capacity for the instance type"}); err != nil {
		t.Fatal(err)
	}
	run := func(want ripcord.ExecState) {
		t.Helper()
		s, err := eng.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.State != want {
			t.Fatalf("execution %s is %s, want %s (%s)", id, s.State, want, s.Reason)
		}
	}
	run(ripcord.ExecPaused)
	if err := eng.Retry(ctx, id, "alice", "database"); err != nil {
		t.Fatal(err)
	}
	run(ripcord.ExecSucceeded)
	if err := eng.Cleanup(ctx, id, "alice"); err != nil {
		t.Fatal(err)
	}
	run(ripcord.ExecSucceeded)
}

// lineDiff shows the lines of got that differ from want, with their
// numbers.
func lineDiff(want, got string) string {
	var b bytes.Buffer
	w, g := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := range max(len(w), len(g)) {
		var wl, gl []byte
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if !bytes.Equal(wl, gl) {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
