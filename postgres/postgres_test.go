package postgres

import (
	"context"
	"os"
	"testing"
	"time"

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
