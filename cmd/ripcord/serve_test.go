package main

import (
	"context"
	"encoding/json"
	"errors"
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
	} {
		_, errOut, code := c.ripcord(append([]string{"serve", "--db", c.db}, tc.args...)...)
		if code != exitInvalid || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want 2 saying %q", tc.args, code, errOut, tc.want)
		}
	}
	if err := (serveConfig{connFlags: connFlags{Output: "text", Poll: 1, RateLimit: 1, LogLevel: "warn", LogFormat: "text"},
		Addr: "10.0.0.1:8080", Insecure: true, Scan: time.Second, ShutdownGrace: time.Second}).Validate(); err != nil {
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
	errEnd := errors.New("ended")
	var finished engine.ExecutionFinished
	err = cl.Follow(ctx, "orphan", 0, func(ev ripcord.Event) error {
		if ev.Type == engine.EvExecutionFinished {
			if err := json.Unmarshal(ev.Data, &finished); err != nil {
				return err
			}
			return errEnd
		}
		return nil
	})
	if !errors.Is(err, errEnd) || finished.State != ripcord.ExecSucceeded {
		t.Fatalf("following the orphan: %v, %+v; want it finished, succeeded", err, finished)
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
