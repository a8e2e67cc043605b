package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestDSN: each DSN is an empty schema of its own, on the search_path of
// its connections, and is dropped when its test ends.
func TestDSN(t *testing.T) {
	ctx := context.Background()
	var schemas []string
	var name string
	for i := range 2 {
		t.Run("store", func(t *testing.T) {
			dsn := DSN(t)
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			var schema string
			var tables int
			if err := c.QueryRow(ctx, `SELECT current_schema(), current_database(),
				(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())`).Scan(&schema, &name, &tables); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(schema, "s_") || !strings.HasPrefix(name, prefix) || tables != 0 {
				t.Fatalf("DSN %d: schema %q in database %q with %d tables; want a new, empty s_ schema in a %s database", i, schema, name, tables, prefix)
			}
			if _, err := c.Exec(ctx, `CREATE TABLE t (id integer)`); err != nil {
				t.Fatal(err)
			}
			schemas = append(schemas, schema)
		})
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas %v: want two different ones", schemas)
	}
	anchor := shared.anchor
	var left int
	if err := anchor.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1)`, schemas).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d of the schemas %v are left after their tests, %v", left, schemas, err)
	}
}

// TestDatabase: a database of its own, dropped when the test ends.
func TestDatabase(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("db", func(t *testing.T) {
		c, err := pgx.Connect(ctx, Database(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil || !strings.HasPrefix(name, prefix) {
			t.Fatalf("database %q, %v", name, err)
		}
	})
	admin, err := connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s is left after its test (%d, %v)", name, n, err)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, name, schema, want string }{
		{"postgres://u:p@h:5433/postgres?sslmode=disable", "d", "s", "postgres://u:p@h:5433/d?search_path=s&sslmode=disable"},
		{"postgresql://h/x", "d", "", "postgresql://h/d"},
		{"host=h user=u dbname=postgres", "d", "s", "host=h user=u dbname=postgres dbname=d search_path=s"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, tt.name, tt.schema)
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q, %q, %q) = %q, %v; want %q", tt.dsn, tt.name, tt.schema, got, err, tt.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil || cfg.Database != tt.name || (tt.schema != "" && cfg.RuntimeParams["search_path"] != tt.schema) {
			t.Errorf("%q parses to database %q, search_path %q, %v", got, cfg.Database, cfg.RuntimeParams["search_path"], err)
		}
	}
}

// TestUnreachable: with no server, a test is skipped loudly, unless
// RIPCORD_CI is set: then it fails. It runs this test binary again, on a
// port where nothing listens.
func TestUnreachable(t *testing.T) {
	if os.Getenv("PGTEST_HELPER") != "" {
		DSN(t)
		t.Fatal("DSN returned without a server")
	}
	for _, ci := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachable$", "-test.v")
		cmd.Env = append(os.Environ(), "PGTEST_HELPER=1", "RIPCORD_CI="+ci,
			"RIPCORD_TEST_POSTGRES=postgres://nobody:hunter2@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=5")
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "" && (err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "SKIPPING every test that needs PostgreSQL")):
			t.Errorf("without RIPCORD_CI: %v; want a loud skip:\n%s", err, out)
		case ci != "" && (err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "CI must run these tests")):
			t.Errorf("with RIPCORD_CI: %v; want a failure:\n%s", err, out)
		}
		if strings.Contains(string(out), "hunter2") {
			t.Errorf("the message shows the password:\n%s", out)
		}
	}
}
