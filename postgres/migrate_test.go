package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
	"github.com/ripcord-dr/ripcord/storetest"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    int    // migrations loaded
		wantErr string // or the error
	}{
		{"embedded", nil, -1, ""},
		{"two", fstest.MapFS{"migrations/0001_a.sql": file("x"), "migrations/0002_b_c.sql": file("y")}, 2, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file("x"), "migrations/0003_c.sql": file("y")}, 0, "0003_c.sql: expected version 2 next"},
		{"not from 1", fstest.MapFS{"migrations/0002_b.sql": file("x")}, 0, "expected version 1 next"},
		{"bad name", fstest.MapFS{"migrations/0001_A.sql": file("x")}, 0, "the name must be NNNN_words.sql"},
		{"none", fstest.MapFS{"migrations/README": nil}, 0, "the name must be"},
		{"empty", fstest.MapFS{"other/x": file("")}, 0, "read migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []migration
			var err error
			if tt.fsys == nil {
				ms, err = loadMigrations(migrationFiles)
				tt.want = KnownVersion()
			} else {
				ms, err = loadMigrations(tt.fsys)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(ms) != tt.want {
				t.Fatalf("loadMigrations = %d migrations, %v; want %d", len(ms), err, tt.want)
			}
		})
	}
	if KnownVersion() < 2 {
		t.Errorf("KnownVersion = %d; the tests below need at least 2 migrations", KnownVersion())
	}
}

// appliedMigrations lists schema_migrations as "version name".
func appliedMigrations(t *testing.T, dsn string) []string {
	t.Helper()
	rows, err := rawConn(t, dsn).Query(context.Background(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(v, " ", name))
	}
	return got
}

// TestMigrationsAppliedOnceAndRecorded: a new store is at KnownVersion,
// every migration recorded once; opening and migrating again change
// nothing.
func TestMigrationsAppliedOnceAndRecorded(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	if v, err := SchemaVersion(ctx, dsn); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of an empty schema = %d, %v; want 0", v, err)
	}
	fill(t, openStore(t, dsn))
	want := appliedMigrations(t, dsn)
	if len(want) != KnownVersion() || want[0] != "1 0001_init.sql" || want[1] != "2 0002_cluster.sql" {
		t.Fatalf("schema_migrations = %v, want %d migrations from 1 0001_init.sql", want, KnownVersion())
	}
	openStore(t, dsn).Close()
	if from, to, err := Migrate(ctx, dsn); err != nil || from != KnownVersion() || to != KnownVersion() {
		t.Fatalf("Migrate of an up-to-date schema = %d, %d, %v; want %d, %d", from, to, err, KnownVersion(), KnownVersion())
	}
	if got := appliedMigrations(t, dsn); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("schema_migrations after reopening = %v, want %v", got, want)
	}
	if v, err := SchemaVersion(ctx, dsn); err != nil || v != KnownVersion() {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, KnownVersion())
	}
	x, err := openStore(t, dsn, WithoutMigrate()).Execution(ctx, "ex-1")
	if err != nil || x.LastSeq != 3 || x.State != ripcord.ExecSucceeded {
		t.Errorf("Execution after reopening = %+v, %v", x, err)
	}
}

// TestFutureSchemaRefused: a schema a newer ripcord migrated is refused by
// Open (with or without migrating) and Migrate, and nothing is changed.
func TestFutureSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	fill(t, s)
	s.Close()
	future := KnownVersion() + 1
	raw := rawConn(t, dsn)
	if _, err := raw.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
		future, fmt.Sprintf("%04d_from_the_future.sql", future)); err != nil {
		t.Fatal(err)
	}
	// What the future migration would be: a table, which must survive.
	if _, err := raw.Exec(ctx, `CREATE TABLE from_the_future (id integer)`); err != nil {
		t.Fatal(err)
	}
	tables := func() int {
		return count(t, raw, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`)
	}
	before := tables()

	want := fmt.Sprintf("database schema is version %d; this ripcord knows up to %d: upgrade ripcord", future, KnownVersion())
	for name, open := range map[string]func() error{
		"Open": func() error {
			s, err := Open(ctx, dsn)
			if err == nil {
				s.Close()
			}
			return err
		},
		"Open without migrating": func() error {
			s, err := Open(ctx, dsn, WithoutMigrate())
			if err == nil {
				s.Close()
			}
			return err
		},
		"Migrate": func() error { _, _, err := Migrate(ctx, dsn); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := open()
			if err == nil {
				t.Fatal("a schema from a newer ripcord was accepted")
			}
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(ripcord.ErrorHint(err), "newer ripcord") {
				t.Errorf("code %s, hint %q; want a conflict whose hint says a newer ripcord migrated it", ripcord.ErrorCode(err), ripcord.ErrorHint(err))
			}
		})
	}
	if v, err := SchemaVersion(ctx, dsn); err != nil || v != future {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, future)
	}
	// Nothing was touched.
	if n := count(t, raw, `SELECT count(*) FROM events`); n != 3 {
		t.Errorf("events after the refusals: %d, want 3", n)
	}
	if n := count(t, raw, `SELECT count(*) FROM schema_migrations`); n != future {
		t.Errorf("schema_migrations after the refusals: %d rows, want %d", n, future)
	}
	if n := tables(); n != before {
		t.Errorf("tables after the refusals: %d, want %d", n, before)
	}
}

// TestWithoutMigrate: a replica that must not migrate refuses an older
// schema, naming `ripcord migrate`, and changes nothing; once migrated,
// it opens.
func TestWithoutMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	raw := rawConn(t, dsn)
	refused := func(t *testing.T, have int) {
		t.Helper()
		s, err := Open(ctx, dsn, WithoutMigrate())
		if err == nil {
			s.Close()
			t.Fatalf("Open without migrating a schema at version %d succeeded", have)
		}
		want := fmt.Sprintf("database schema is version %d; this ripcord needs version %d", have, KnownVersion())
		if err.Error() != want || ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(ripcord.ErrorHint(err), "ripcord migrate") {
			t.Fatalf("Open: %v (code %s, hint %q); want %q, a conflict whose hint names ripcord migrate",
				err, ripcord.ErrorCode(err), ripcord.ErrorHint(err), want)
		}
		if v, err := SchemaVersion(ctx, dsn); err != nil || v != have {
			t.Fatalf("SchemaVersion after the refusal = %d, %v; want %d", v, err, have)
		}
	}

	refused(t, 0)
	if n := count(t, raw, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`); n != 0 {
		t.Fatalf("the refusal created %d tables", n)
	}

	// At version 1, with an execution.
	ms, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrateSchema(ctx, raw, "test", ms[:1], true); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	refused(t, 1)

	from, to, err := Migrate(ctx, dsn)
	if err != nil || from != 1 || to != KnownVersion() {
		t.Fatalf("Migrate = %d, %d, %v; want 1, %d", from, to, err, KnownVersion())
	}
	s := openStore(t, dsn, WithoutMigrate())
	fill(t, s)
}

// TestUpgradeFromVersion1: a schema of version 1 (before the cluster
// tables) keeps its executions, and the store opened on it can do
// everything.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	raw := rawConn(t, dsn)
	ms, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := migrateSchema(ctx, raw, "test", ms[:1], true); err != nil || v.from != 0 || v.to != 1 {
		t.Fatalf("migrate to version 1 = %+v, %v", v, err)
	}
	for _, q := range []string{
		`INSERT INTO plan_versions VALUES ('h1', 'three-tier', '\x00', '2025-03-14T09:26:53.589793Z')`,
		`INSERT INTO executions (id, plan_name, plan_hash, mode, state, started, actor, last_seq)
			VALUES ('ex-old', 'three-tier', 'h1', 'drill', 'running', '2025-03-14T09:26:53.589793Z', 'alice', 1)`,
		`INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-old', 1, '2025-03-14T09:26:53.589793Z', 'engine', 'ExecutionStarted')`,
	} {
		if _, err := raw.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	clock := storetest.NewClock(t0)
	s := openStore(t, dsn, WithClock(clock.Now))
	x, err := s.Execution(ctx, "ex-old")
	if err != nil || x.Exclusive != "" || x.State != ripcord.ExecRunning || !x.Started.Equal(t0) {
		t.Fatalf("Execution after the upgrade = %+v, %v", x, err)
	}
	if l, err := s.AcquireLease(ctx, "ex-old", driverA, time.Minute); err != nil || l.Epoch != 1 {
		t.Fatalf("AcquireLease after the upgrade = %+v, %v; want epoch 1", l, err)
	}
	r := ripcord.Replica{ID: "r-1", Owner: driverA}
	if live, err := s.Heartbeat(ctx, r, time.Minute); err != nil || len(live) != 1 {
		t.Fatalf("Heartbeat after the upgrade = %+v, %v", live, err)
	}
	if m, err := s.AcquireMutex(ctx, "m", "r-1", time.Minute); err != nil || m.Gen != 0 {
		t.Fatalf("AcquireMutex after the upgrade = %+v, %v", m, err)
	}
}

// TestConcurrentOpen: replicas that start together on an empty database
// all open it, and the schema is migrated once: every migration recorded
// once, all by one transaction.
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	const replicas = 4
	start := make(chan struct{})
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			<-start
			s, err := Open(ctx, dsn)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: %v", i, err)
		}
	}
	raw := rawConn(t, dsn)
	if n := count(t, raw, `SELECT count(*) FROM schema_migrations`); n != KnownVersion() {
		t.Errorf("schema_migrations has %d rows, want %d", n, KnownVersion())
	}
	if n := count(t, raw, `SELECT count(DISTINCT xmin::text) FROM schema_migrations`); n != 1 {
		t.Errorf("the migrations were recorded by %d transactions, want 1", n)
	}
	if n := count(t, raw, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'executions'`); n != 1 {
		t.Errorf("no executions table in public after the concurrent opens")
	}
}

// TestOpenRefuses: what is not a ripcord store, or cannot be reached, is
// refused with a code and a message naming the place (never the password).
func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	foreign := pgtest.DSN(t)
	if _, err := rawConn(t, foreign).Exec(ctx, `CREATE TABLE customers (id integer PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	noSchema := strings.Replace(pgtest.DSN(t), "search_path=", "search_path=no_such_schema_", 1)
	tests := []struct {
		name, dsn, code, message string
	}{
		{"another application's schema", foreign, ripcord.EINVALID, "not ripcord's"},
		{"no schema on the search_path", noSchema, ripcord.EINVALID, "no schema of the search_path"},
		{"no connection string", "", ripcord.EINVALID, "no connection string"},
		{"a malformed connection string", "postgres://%zz", ripcord.EINVALID, "bad connection string"},
		{"no server", "postgres://ripcord:s3cret@127.0.0.1:1/ripcord?connect_timeout=5", ripcord.EUNAVAILABLE, "127.0.0.1:1/ripcord"},
		{"no such database", strings.Replace(foreign, "/ripcord_test_", "/no_such_database_", 1), ripcord.EINVALID, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if ripcord.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("Open: %v (code %s); want code %s and a message saying %q", err, ripcord.ErrorCode(err), tt.code, tt.message)
			}
			if ripcord.ErrorHint(err) == "" {
				t.Errorf("Open: %v: no hint", err)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(ripcord.ErrorHint(err), "s3cret") {
				t.Errorf("Open: %v: the message shows the password", err)
			}
		})
	}
	// The foreign table is still there, alone.
	if n := count(t, rawConn(t, foreign), `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`); n != 1 {
		t.Errorf("the foreign schema has %d tables after the refusal, want 1", n)
	}
}
