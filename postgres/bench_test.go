package postgres

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
)

// BenchmarkAppend measures Append as the engine uses it: one event of
// about 100 bytes of JSON per call, with the driver's epoch, each call a
// transaction that commits (and notifies). executions=8 appends to eight
// executions at once, as a replica driving eight does; the pool has
// enough connections for all. The figure to quote is events/s.
func BenchmarkAppend(b *testing.B) {
	for _, execs := range []int{1, 8} {
		b.Run(fmt.Sprint("executions=", execs), func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, pgtest.DSN(b)+"&pool_max_conns=16"+os.Getenv("BENCH_EXTRA"))
			if err := s.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h1", Name: "p", Source: []byte("x"), Created: t0}); err != nil {
				b.Fatal(err)
			}
			epochs := make([]int64, execs)
			for i := range execs {
				x := ripcord.Execution{ID: fmt.Sprint("ex-", i), PlanName: "p", PlanHash: "h1", Mode: ripcord.ModeDrill,
					State: ripcord.ExecRunning, Started: t0, Actor: "bench"}
				if err := s.CreateExecution(ctx, x, []ripcord.Event{{At: t0, Actor: ripcord.ActorEngine, Type: "ExecutionStarted"}}); err != nil {
					b.Fatal(err)
				}
				l, err := s.AcquireLease(ctx, x.ID, ripcord.LeaseOwner{Host: "bench", PID: 1 + i, Started: t0}, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				epochs[i] = l.Epoch
			}
			data := []byte(`{"job":"drsjob-0123456789abcdef0","servers":["s-0123456789abcdef0","s-0123456789abcdef1"]}`)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, execs)
			for i := range execs {
				n := b.N / execs
				if i < b.N%execs {
					n++
				}
				wg.Go(func() {
					id := fmt.Sprint("ex-", i)
					for seq := int64(1); seq <= int64(n); seq++ {
						ev := ripcord.Event{At: t0, Actor: ripcord.ActorEngine, Type: "JobCreated", Data: data}
						if _, err := s.Append(ctx, id, seq, epochs[i], []ripcord.Event{ev}, nil); err != nil {
							errs[i] = err
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
