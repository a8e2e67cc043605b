package postgres

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
	"github.com/ripcord-dr/ripcord/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestStore runs the conformance suite, each test on a schema of its own.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) ripcord.Store {
		return openStore(t, pgtest.DSN(t), WithClock(now))
	})
}

// openStore opens a store on dsn, closed when the test ends.
func openStore(t testing.TB, dsn string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawConn connects to dsn with no ripcord code in the way, as psql would,
// with the same search_path.
func rawConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pgx.Connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// Two drivers.
var (
	driverA = ripcord.LeaseOwner{Host: "dr-host-a", PID: 4242, Started: t0.Add(-time.Hour)}
	driverB = ripcord.LeaseOwner{Host: "dr-host-b", PID: 77, Started: t0.Add(-time.Hour)}
)

// fill saves a plan and an execution with three events, the last with an
// update, as the engine would.
func fill(t testing.TB, s *Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h1", Name: "three-tier", Source: []byte("plans: []\n"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	x := ripcord.Execution{ID: "ex-1", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeDrill,
		State: ripcord.ExecRunning, Started: t0, Actor: "alice"}
	ev := ripcord.Event{At: t0, Actor: ripcord.ActorEngine, Type: "ExecutionStarted", Data: json.RawMessage(`{"servers":6}`)}
	if err := s.CreateExecution(ctx, x, []ripcord.Event{ev, ev}); err != nil {
		t.Fatal(err)
	}
	done, end := ripcord.ExecSucceeded, t0.Add(time.Minute)
	_, err := s.Append(ctx, "ex-1", 2, 0, []ripcord.Event{{At: end, Actor: ripcord.ActorEngine, Type: "ExecutionSucceeded"}},
		&ripcord.ExecutionUpdate{State: &done, Ended: &end, Summary: json.RawMessage(`{"launched":6}`)})
	if err != nil {
		t.Fatal(err)
	}
}

// count returns the result of a count(*) query.
func count(t testing.TB, c *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
