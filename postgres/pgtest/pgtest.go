// Package pgtest gives tests, in any package, a throwaway place on a real
// PostgreSQL server for a ripcord store.
//
// The server is the one named by the environment variable
// RIPCORD_TEST_POSTGRES (a PostgreSQL URL or key=value connection string
// of a user that may create databases), by default [DefaultServer]. When it
// cannot be reached, a test that asks for a database is skipped, loudly,
// unless RIPCORD_CI is set: then it fails, since CI must never skip.
//
// [DSN] is fast (a few milliseconds): each call creates a schema of its own
// in one database that the test binary shares, and its DSN sets
// search_path to it, which is where a postgres.Store keeps its tables. The
// schema is dropped when the test ends. [Database] creates a whole
// database instead, for tests that need one (slower: about half a second).
//
// The shared database is named ripcord_test_<unix seconds>_<hex>. A test
// binary whose TestMain calls [Main] drops it when its tests end; one that
// does not leaves it behind, and the next test binary that uses pgtest
// drops it once it is more than a minute old and nobody is connected to it
// (each binary stays connected to its own while it runs).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultServer is the server tests use when RIPCORD_TEST_POSTGRES is
// not set: the local one, as a developer's machine and CI run it.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Server returns the connection string of the test server: the value of
// RIPCORD_TEST_POSTGRES, or DefaultServer.
func Server() string {
	if s := os.Getenv("RIPCORD_TEST_POSTGRES"); s != "" {
		return s
	}
	return DefaultServer
}

// prefix starts the name of every database pgtest creates.
const prefix = "ripcord_test_"

// shared is the database the test binary's DSNs are in, and the
// connection that keeps it in use.
var shared struct {
	mu     sync.Mutex
	name   string
	anchor *pgx.Conn
	err    error // why it could not be made; sticky
}

// DSN returns the connection string of a new, empty schema in the test
// binary's database: a place for one store. The schema is dropped when
// the test ends (register the store's Close after calling DSN, so that it
// runs first).
func DSN(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.anchor == nil && shared.err == nil {
		shared.name, shared.anchor, shared.err = createShared(ctx)
	}
	if shared.err != nil {
		unreachable(t, shared.err)
	}
	schema := "s_" + randomHex(8)
	if _, err := shared.anchor.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("pgtest: create schema %s in %s: %v", schema, shared.name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if shared.anchor == nil {
			return // Main dropped the database
		}
		if _, err := shared.anchor.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s in %s: %v", schema, shared.name, err)
		}
	})
	dsn, err := withDatabase(Server(), shared.name, schema)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// Database creates a new, empty database and returns its connection
// string; the database is dropped, WITH (FORCE), when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := connect(ctx)
	if err != nil {
		unreachable(t, err)
	}
	defer admin.Close(context.Background())
	name := newName()
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dsn, err := withDatabase(Server(), name, "")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// Main runs the tests of m and then drops the test binary's database, if
// a test made it. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.anchor != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared.anchor.Close(ctx)
		shared.anchor = nil
		if err := dropDatabase(ctx, shared.name); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// unreachable skips the test (loudly) or, in CI, fails it.
func unreachable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: no PostgreSQL server for the tests at %s: %v", describe(Server()), err)
	if os.Getenv("RIPCORD_CI") != "" {
		t.Fatalf("%s (RIPCORD_CI is set: CI must run these tests; start the server or set RIPCORD_TEST_POSTGRES)", msg)
	}
	warnOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "\n*** %s\n*** SKIPPING every test that needs PostgreSQL: start it or set RIPCORD_TEST_POSTGRES ***\n\n", msg)
	})
	t.Skipf("%s: SKIPPED (start the server or set RIPCORD_TEST_POSTGRES; with RIPCORD_CI set this fails)", msg)
}

var warnOnce sync.Once

// connect connects to the test server's own database.
func connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(Server())
	if err != nil {
		return nil, fmt.Errorf("RIPCORD_TEST_POSTGRES: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// createShared creates the test binary's database, after dropping those
// that earlier binaries left behind, and connects to it.
func createShared(ctx context.Context) (string, *pgx.Conn, error) {
	admin, err := connect(ctx)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close(context.Background())
	sweep(ctx, admin)
	name := newName()
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	dsn, err := withDatabase(Server(), name, "")
	if err != nil {
		return "", nil, err
	}
	anchor, err := pgx.Connect(ctx, dsn)
	if err != nil {
		_ = dropDatabase(ctx, name)
		return "", nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	return name, anchor, nil
}

var leftName = regexp.MustCompile(`^` + prefix + `([0-9]+)_[0-9a-f]+$`)

// sweep drops the databases test binaries left behind: pgtest's, more
// than a minute old, with nobody connected.
func sweep(ctx context.Context, admin *pgx.Conn) {
	rows, err := admin.Query(ctx, `SELECT d.datname FROM pg_database d
		WHERE d.datname LIKE 'ripcord\_test\_%'
		AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		m := leftName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		created, _ := strconv.ParseInt(m[1], 10, 64)
		if time.Since(time.Unix(created, 0)) < time.Minute {
			continue
		}
		_, _ = admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name)
	}
}

func dropDatabase(ctx context.Context, name string) error {
	admin, err := connect(ctx)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func newName() string {
	return fmt.Sprintf("%s%d_%s", prefix, time.Now().Unix(), randomHex(6))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase returns dsn with its database replaced by name and, unless
// schema is "", its search_path set to schema. It takes both forms of
// connection strings: URLs and key=value pairs.
func withDatabase(dsn, name, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("RIPCORD_TEST_POSTGRES: %w", err)
		}
		u.Path = "/" + name
		if schema != "" {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// key=value: a later key overrides an earlier one.
	dsn += " dbname=" + name
	if schema != "" {
		dsn += " search_path=" + schema
	}
	return dsn, nil
}

// describe names the server of dsn without its password.
func describe(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(RIPCORD_TEST_POSTGRES does not parse)"
	}
	return fmt.Sprintf("%s:%d (user %s)", cfg.Host, cfg.Port, cfg.User)
}
