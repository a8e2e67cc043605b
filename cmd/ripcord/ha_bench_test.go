package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// haDefaults are replica flags with the HA defaults (--lease-ttl 10s,
// --scan 2s, --heartbeat 2s) and a quick poll of the simulator.
func (w *haWorld) haDefaults() []string {
	return []string{"--db", w.dsn, "--endpoint-url", w.sim, "--poll", "100ms", "--rate-limit", "100", "--log-level", "warn"}
}

// BenchmarkHATakeover measures, with three `ripcord serve` replicas on
// PostgreSQL and the default lease TTL (10s), scan (2s) and heartbeat
// (2s), the wall time from the end of the replica that drives a drill to
// the drill's next event (another replica's DriverStarted):
//
//   - kill-s: the replica is killed with SIGKILL; on one host its PID is
//     seen gone, so the next scan takes over;
//   - stop-s: the replica is frozen with SIGSTOP, like a host that
//     vanished: the lease must expire first.
//
// Each iteration runs both, each on a new drill.
//
//	go test -run '^$' -bench HATakeover -benchtime 1x ./cmd/ripcord/
func BenchmarkHATakeover(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	w := newHAWorld(ctx, b, "--scenario", "three-tier", "--time-scale", "60")
	reps := []*replica{}
	for range 3 {
		reps = append(reps, startReplica(ctx, b, w.bin, w.env, w.haDefaults()...))
	}
	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.client(b, reps[0]).SavePlans(ctx, "three-tier.yaml", yaml); err != nil {
		b.Fatal(err)
	}
	notes, err := w.store.Subscribe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	measure := func(sig syscall.Signal) time.Duration {
		x, err := w.client(b, reps[0]).Start(ctx, client.StartRequest{Plan: "orders", Mode: "drill", AllowConcurrent: true})
		if err != nil {
			b.Fatal(err)
		}
		waitEvent(ctx, b, w, notes, x.ID, func(ev ripcord.Event) bool { return ev.Type == engine.EvJobCreated })
		l, err := w.store.Lease(ctx, x.ID)
		if err != nil {
			b.Fatal(err)
		}
		i := slices.IndexFunc(reps, func(r *replica) bool { return r.pid() == l.Owner.PID })
		if i < 0 {
			b.Fatalf("the lease is held by %s, no replica", l.Owner)
		}
		last, err := w.store.Execution(ctx, x.ID)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := reps[i].cmd.Process.Signal(sig); err != nil {
			b.Fatal(err)
		}
		var after int64 = last.LastSeq
		for {
			evs, err := w.store.Events(ctx, x.ID, after, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) > 0 {
				var d engine.DriverStarted
				if evs[0].Type != engine.EvDriverStarted || json.Unmarshal(evs[0].Data, &d) != nil || d.Owner.PID == reps[i].pid() {
					b.Fatalf("after the signal the drill's next event is %s %s; want another replica's DriverStarted", evs[0].Type, evs[0].Data)
				}
				break
			}
			select {
			case <-notes:
			case <-ctx.Done():
				b.Fatal("no takeover")
			}
		}
		took := time.Since(t0)
		if sig == syscall.SIGSTOP {
			_ = reps[i].cmd.Process.Signal(syscall.SIGCONT)
		} else {
			reps[i].kill()
			reps[i].start(ctx)
		}
		return took
	}
	var kill, stop time.Duration
	for b.Loop() {
		kill += measure(syscall.SIGKILL)
		stop += measure(syscall.SIGSTOP)
	}
	b.ReportMetric(kill.Seconds()/float64(b.N), "kill-s")
	b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s")
}

// BenchmarkHAAPILatency measures the API's latency with three `ripcord
// serve` replicas on PostgreSQL and 20 concurrent clients spread over
// them while 5 drills run: each client reads the execution list, an
// execution, a page of its events and the plans, in turn, from its
// replica. It reports the 50th and 99th percentiles in milliseconds.
//
//	go test -run '^$' -bench HAAPILatency ./cmd/ripcord/
func BenchmarkHAAPILatency(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	w := newHAWorld(ctx, b, "--scenario", "three-tier", "--time-scale", "20")
	var reps []*replica
	for range 3 {
		reps = append(reps, startReplica(ctx, b, w.bin, w.env, w.haDefaults()...))
	}
	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.client(b, reps[0]).SavePlans(ctx, "three-tier.yaml", yaml); err != nil {
		b.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		x, err := w.client(b, reps[i%3]).Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill, AllowConcurrent: true})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, x.ID)
	}
	b.ResetTimer()
	measureAPI(ctx, b, ids, func(c int) *client.Client { return w.client(b, reps[c%3]) })
	running := 0
	for _, id := range ids {
		if x, err := w.store.Execution(ctx, id); err == nil && x.State == ripcord.ExecRunning {
			running++
		}
	}
	b.ReportMetric(float64(running), "executions-running-at-end")
}
