package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

func TestServeFlags(t *testing.T) {
	c := newCLIEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "0.0.0.0:8080"}, "without TLS"},
		{[]string{"--addr", "nonsense"}, "invalid --addr"},
		{[]string{"--tls-cert", "c.pem"}, "go together"},
		{[]string{"--scan", "0s"}, "--scan"},
		{[]string{"--lease-ttl", "0s"}, "--lease-ttl"},
		{[]string{"--heartbeat", "6s"}, "more than half of --lease-ttl"},
	} {
		_, errOut, code := c.ripcord(append([]string{"serve", "--db", c.db}, tc.args...)...)
		if code != exitInvalid || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want 2 saying %q", tc.args, code, errOut, tc.want)
		}
	}
	if err := (serveConfig{connFlags: connFlags{Output: "text", Poll: 1, RateLimit: 1, LogLevel: "warn", LogFormat: "text"},
		Addr: "10.0.0.1:8080", Insecure: true, Scan: time.Second, ShutdownGrace: time.Second, LeaseTTL: 10 * time.Second, Heartbeat: 2 * time.Second}).Validate(); err != nil {
		t.Errorf("--insecure on a LAN address: %v; want it allowed", err)
	}
}

// TestServeTakesOverAndAnswers: a drill whose `ripcord run` was stopped
// mid-way is taken over by `ripcord serve` as it starts and driven to its
// end, followed through the API's event stream; the API answers with a
// token from `ripcord token create`; the server stops softly when asked.
func TestServeTakesOverAndAnswers(t *testing.T) {
	c := newCLIEnv(t)
	out, errOut, code := c.ripcordStoppedAt("in progress", append([]string{"run", "-f", "../../examples/three-tier.yaml", "--drill", "--id", "orphan"}, c.conn()...)...)
	if code != exitInterrupted {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = c.ripcord("token", "create", "--db", c.db, "--role", "viewer", "--name", "watcher")
	if code != 0 {
		t.Fatalf("token create: exit %d\n%s", code, errOut)
	}
	token := strings.TrimSpace(out)

	var cfg serveConfig
	cfg.connFlags = connFlags{DB: c.db, Endpoint: c.url, Output: "text", Poll: 20 * time.Millisecond, RateLimit: 500, LogLevel: "warn", LogFormat: "text"}
	cfg.Addr, cfg.Scan, cfg.ShutdownGrace = "127.0.0.1:0", time.Hour, time.Minute
	ctx, stop := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var logs strings.Builder
	go func() { done <- serve(ctx, &logs, cfg, func(a string) { addr <- a }) }()
	var base string
	select {
	case base = <-addr:
	case err := <-done:
		t.Fatalf("serve ended before listening: %v", err)
	}
	cl, err := client.New("http://"+base, token)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Health(ctx); err != nil {
		t.Fatal(err)
	}
	// Follow the orphan until it ends: the takeover drives it.
	if finished := waitFinished(t, cl, "orphan"); finished.State != ripcord.ExecSucceeded {
		t.Fatalf("the orphan finished %+v; want succeeded", finished)
	}
	x, err := cl.Execution(ctx, "orphan")
	if err != nil || x.Execution.State != ripcord.ExecSucceeded {
		t.Errorf("GET execution: %+v, %v", x, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("serve after a soft stop: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "serving on http://127.0.0.1:") {
		t.Errorf("serve did not say where it listens:\n%s", logs.String())
	}
}

// startServe runs serve on a loopback port for the test and returns its
// address and how to stop it (and wait for it).
func startServe(t *testing.T, c *cliEnv, configure ...func(*serveConfig)) (base string, stop func() error) {
	t.Helper()
	var cfg serveConfig
	cfg.connFlags = connFlags{DB: c.db, Endpoint: c.url, Output: "text", Poll: 20 * time.Millisecond, RateLimit: 500, LogLevel: "warn", LogFormat: "text"}
	cfg.Addr, cfg.Scan, cfg.ShutdownGrace = "127.0.0.1:0", time.Hour, time.Minute
	for _, f := range configure {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, io.Discard, cfg, func(a string) { addr <- a }) }()
	select {
	case base = <-addr:
	case err := <-done:
		t.Fatalf("serve ended before listening: %v", err)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + base, stop
}

// TestServeStartsAndControls: through the API of a real server, an admin
// saves the example plan, an operator starts a drill, pauses it and
// resumes it; it ends succeeded. The execution and the
// control events carry the operator's identity, never the request's.
func TestServeStartsAndControls(t *testing.T) {
	c := newCLIEnv(t)
	base, stop := startServe(t, c)
	ctx := boundedContext(t)
	oc := servedPlan(t, c, base, "operator")
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(x.Actor, "operator-person (tok_") {
		t.Errorf("execution started by %q; want the operator token's identity", x.Actor)
	}
	// Paused at once (the simulator runs a drill in a fraction of a
	// second), resumed once the pause is recorded.
	if _, err := oc.Control(ctx, x.ID, "pause", ""); err != nil {
		t.Fatal(err)
	}
	errEnd := errors.New("ended")
	var actors []string
	resumed := false
	err = oc.Follow(ctx, x.ID, 0, func(ev ripcord.Event) error {
		switch ev.Type {
		case engine.EvExecutionResumed:
			actors = append(actors, ev.Type+" by "+ev.Actor)
		case engine.EvExecutionPaused:
			actors = append(actors, ev.Type+" by "+ev.Actor)
			if !resumed {
				resumed = true
				if _, err := oc.Control(ctx, x.ID, "resume", ""); err != nil {
					return err
				}
			}
		case engine.EvExecutionFinished:
			return errEnd
		}
		return nil
	})
	if !errors.Is(err, errEnd) {
		t.Fatalf("following the drill: %v", err)
	}
	d, err := oc.Execution(ctx, x.ID)
	if err != nil || d.Execution.State != ripcord.ExecSucceeded {
		t.Fatalf("the drill: %+v, %v; want succeeded", d.Execution, err)
	}
	if len(actors) != 2 || !strings.Contains(actors[0], "operator-person (tok_") || !strings.Contains(actors[1], "operator-person (tok_") {
		t.Errorf("control events %q; want the pause and the resume by the operator's identity", actors)
	}
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
}

// TestServeInventory: through a real server, a viewer sees the example
// plan's target and groups, and its six servers as DRS (the simulator)
// shows them: ready, each launched by its tier's step.
func TestServeInventory(t *testing.T) {
	c := newCLIEnv(t)
	base, _ := startServe(t, c)
	ctx := boundedContext(t)
	vc := servedPlan(t, c, base, "viewer")
	targets, err := vc.Targets(ctx)
	if err != nil || len(targets) != 1 || targets[0].Name != "dr" || targets[0].Account != "111122223333" {
		t.Errorf("targets %+v, %v", targets, err)
	}
	servers, err := vc.PlanServers(ctx, "orders")
	if err != nil || len(servers) != 6 {
		t.Fatalf("servers %+v, %v; want the scenario's six", servers, err)
	}
	byStep := map[string]int{}
	for _, s := range servers {
		if !s.Ready || s.ReplicationState != ripcord.ReplicationContinuous || len(s.Steps) != 1 || len(s.Groups) != 1 || s.OS == "" {
			t.Errorf("server %+v; want ready, continuous, in one step through one group, with its OS", s)
			continue
		}
		byStep[s.Steps[0]]++
	}
	if byStep["database"] != 2 || byStep["app"] != 2 || byStep["web"] != 2 {
		t.Errorf("servers by step %v; want two per tier", byStep)
	}
}

// servedPlan saves the example plan on the server at base with an admin's
// token (ripcord token create) and returns a client with a token of role.
func servedPlan(t *testing.T, c *cliEnv, base, role string) *client.Client {
	t.Helper()
	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return servedPlanYAML(t, c, base, role, yaml)
}
