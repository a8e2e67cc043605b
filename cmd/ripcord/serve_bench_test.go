package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// BenchmarkAPILatency measures the API's latency on loopback with 20
// concurrent clients while 5 drills run (the simulator at 60 times real
// time, so that they keep running): each client reads the execution list,
// an execution with its summary, a page of its events and the plans, in
// turn. It reports the 50th and 99th percentiles in milliseconds.
//
//	go test -run '^$' -bench APILatency ./cmd/ripcord/
func BenchmarkAPILatency(b *testing.B) {
	sim, err := drssim.New(drssim.Options{TimeScale: 60, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	b.Setenv("AWS_CONFIG_FILE", filepath.Join(b.TempDir(), "none"))
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(b.TempDir(), "none"))
	db := filepath.Join(b.TempDir(), "r.db")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	mint := func(role ripcord.Role) string {
		secret, id, hash, err := ripcord.NewToken()
		if err != nil {
			b.Fatal(err)
		}
		if err := store.CreateToken(ctx, ripcord.Token{ID: id, Name: string(role), Role: role, Hash: hash}); err != nil {
			b.Fatal(err)
		}
		return secret
	}
	admin, operator := mint(ripcord.RoleAdmin), mint(ripcord.RoleOperator)
	store.Close()

	var cfg serveConfig
	cfg.connFlags = connFlags{DB: db, Endpoint: simSrv.URL, Output: "text", Poll: 50 * time.Millisecond, RateLimit: 500, LogLevel: "error", LogFormat: "text"}
	cfg.Addr, cfg.Scan, cfg.ShutdownGrace = "127.0.0.1:0", time.Hour, time.Minute
	sctx, stop := context.WithCancel(ctx)
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(sctx, io.Discard, cfg, func(a string) { addr <- a }) }()
	base := "http://" + <-addr
	defer func() { stop(); <-done }()

	ac, _ := client.New(base, admin)
	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ac.SavePlans(ctx, "three-tier.yaml", yaml); err != nil {
		b.Fatal(err)
	}
	oc, _ := client.New(base, operator)
	var ids []string
	for range 5 {
		x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill, AllowConcurrent: true})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, x.ID)
	}

	b.ResetTimer()
	measureAPI(ctx, b, ids, func(int) *client.Client {
		cl, _ := client.New(base, operator)
		return cl
	})
	running := 0
	for _, id := range ids {
		if d, err := oc.Execution(ctx, id); err == nil && d.Execution.State == ripcord.ExecRunning {
			running++
		}
	}
	b.ReportMetric(float64(running), "executions-running-at-end")
}

// measureAPI runs b.N API reads with 20 concurrent clients (clientFor
// gives client c its connection): each reads the execution list, one of
// ids with its summary, a page of its events and the plans, in turn. It
// reports the 50th and 99th percentiles in milliseconds.
func measureAPI(ctx context.Context, b *testing.B, ids []string, clientFor func(c int) *client.Client) {
	const clients = 20
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			cl := clientFor(c)
			for i := c; i < b.N; i += clients {
				id := ids[i%len(ids)]
				t0 := time.Now()
				var err error
				switch i % 4 {
				case 0:
					_, _, err = cl.Executions(ctx, client.ExecutionFilter{})
				case 1:
					_, err = cl.Execution(ctx, id)
				case 2:
					_, err = cl.Events(ctx, id, 0, 100)
				case 3:
					_, err = cl.Plans(ctx)
				}
				lat[c] = append(lat[c], time.Since(t0))
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
