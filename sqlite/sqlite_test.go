package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/storetest"
)

// TestStore runs the conformance suite on a new database file per test.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) ripcord.Store {
		return openFile(t, filepath.Join(t.TempDir(), "ripcord.db"), WithClock(now))
	})
}

// TestStoreMemory runs the conformance suite on :memory:, where reads and
// writes share one connection.
func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) ripcord.Store {
		return openFile(t, Memory, WithClock(now))
	})
}

func openFile(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens the file with no ripcord code in the way, as the sqlite3
// shell would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// fill saves a plan and an execution with three events, the last with an
// update, as the engine would.
func fill(t *testing.T, s *Store) {
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

// appliedMigrations returns schema_migrations as "version name applied"
// lines.
func appliedMigrations(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT version, name, applied FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var name, applied string
		if err := rows.Scan(&v, &name, &applied); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v, " ", name, " ", applied))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrationsAppliedOnceAndRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ripcord.db")
	openFile(t, path).Close()
	first := appliedMigrations(t, rawDB(t, path))

	embedded, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(embedded) {
		t.Fatalf("schema_migrations = %q, want the %d embedded migrations", first, len(embedded))
	}
	for i, m := range embedded {
		if prefix := fmt.Sprint(m.version, " ", m.name, " "); !strings.HasPrefix(first[i], prefix) {
			t.Errorf("schema_migrations row %d = %q, want %q...", i, first[i], prefix)
		}
	}

	// Opening again applies nothing: the rows, with their times, are the
	// same.
	for range 2 {
		openFile(t, path).Close()
	}
	if again := appliedMigrations(t, rawDB(t, path)); strings.Join(again, "\n") != strings.Join(first, "\n") {
		t.Errorf("after reopening, schema_migrations = %q, want %q", again, first)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	s := openFile(t, path)
	fill(t, s)
	wantX, err := s.Execution(ctx, "ex-1")
	if err != nil {
		t.Fatal(err)
	}
	wantE, err := s.Events(ctx, "ex-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openFile(t, path)
	gotX, err := s.Execution(ctx, "ex-1")
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if fmt.Sprint(gotX) != fmt.Sprint(wantX) {
		t.Errorf("after reopening, Execution =\n%+v\nwant\n%+v", gotX, wantX)
	}
	gotE, err := s.Events(ctx, "ex-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gotE) != fmt.Sprint(wantE) {
		t.Errorf("after reopening, Events =\n%+v\nwant\n%+v", gotE, wantE)
	}
	if _, err := s.PlanVersion(ctx, "h1"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	// The log goes on where it stopped.
	last, err := s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "ReportViewed"}}, nil)
	if err != nil || last != 4 {
		t.Errorf("Append after reopening = %d, %v; want 4", last, err)
	}
}

func TestFutureSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ripcord.db")
	s := openFile(t, path)
	fill(t, s)
	s.Close()
	embedded, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	future := len(embedded) + 1
	db := rawDB(t, path)
	_, err = db.Exec(`INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, '2031-01-01T00:00:00.000Z')`,
		future, fmt.Sprintf("%04d_from_the_future.sql", future))
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(context.Background(), path)
	if err == nil {
		t.Fatal("Open of a database from a newer ripcord succeeded")
	}
	want := fmt.Sprintf("database %s has schema version %d, newer than this ripcord knows (%d)", path, future, len(embedded))
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(ripcord.ErrorHint(err), "newer ripcord") {
		t.Errorf("code %s, hint %q; want a conflict whose hint says a newer ripcord wrote it", ripcord.ErrorCode(err), ripcord.ErrorHint(err))
	}
	// Nothing was touched.
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != 3 {
		t.Errorf("events after the refusal: %d, %v; want 3", n, err)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	if _, err := rawDB(t, foreign).Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not a database\n", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, code, message string
	}{
		{"another application's database", foreign, ripcord.EINVALID, "not ripcord's"},
		{"not a database", garbage, ripcord.EINVALID, "is not an SQLite database"},
		{"no path", "", ripcord.EINVALID, "no database path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if ripcord.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.message) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Open: %v (code %s); want code %s and a message naming the path and saying %q", err, ripcord.ErrorCode(err), tt.code, tt.message)
			}
		})
	}
}

// TestPragmas checks the settings of the connections the store really
// uses.
func TestPragmas(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "ripcord.db"))
	tests := []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"write", s.write, "journal_mode", "wal"},
		{"write", s.write, "foreign_keys", "1"},
		{"write", s.write, "busy_timeout", "5000"},
		{"write", s.write, "synchronous", "2"}, // FULL
		{"write", s.write, "query_only", "0"},
		{"read", s.read, "journal_mode", "wal"},
		{"read", s.read, "busy_timeout", "5000"},
		{"read", s.read, "query_only", "1"},
	}
	for _, tt := range tests {
		var got string
		if err := tt.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
			t.Fatalf("%s: PRAGMA %s: %v", tt.pool, tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("%s pool: PRAGMA %s = %s, want %s", tt.pool, tt.pragma, got, tt.want)
		}
	}
	// And as another program sees the file.
	var mode string
	if err := rawDB(t, s.path).QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode seen from outside = %q, %v; want wal", mode, err)
	}
}

// TestSchemaGuards: the schema itself refuses gaps and changes to events,
// whatever code writes to it.
func TestSchemaGuards(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "ripcord.db"))
	fill(t, s)
	ctx := context.Background()
	if _, err := s.AcquireLease(ctx, "ex-1", driverA, time.Minute); err != nil {
		t.Fatal(err)
	}
	live := ripcord.Execution{ID: "ex-2", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeDrill,
		State: ripcord.ExecPaused, Started: t0, Actor: "alice", Exclusive: "three-tier@k"}
	if err := s.CreateExecution(ctx, live, []ripcord.Event{{At: t0, Actor: "alice", Type: "ExecutionStarted"}}); err != nil {
		t.Fatal(err)
	}
	tok := ripcord.Token{ID: "tok_1", Name: "alice", Role: ripcord.RoleAdmin, Hash: make([]byte, 32)}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "tok_1"); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"token.create", "token.revoke", "execution.pause"} {
		if _, err := s.AppendAudit(ctx, ripcord.AuditEntry{Actor: "alice (tok_1)", Action: action}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, sql, want string
	}{
		{"gap", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-1', 5, 'x', 'engine', 'Gap')`, "without a gap"},
		{"duplicate", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-1', 3, 'x', 'engine', 'Dup')`, "without a gap"},
		{"unknown execution", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-9', 1, 'x', 'engine', 'Orphan')`, "FOREIGN KEY"},
		{"update", `UPDATE events SET type = 'Rewritten' WHERE seq = 2`, "append-only"},
		{"delete", `DELETE FROM events WHERE seq = 3`, "append-only"},
		{"unknown plan", `INSERT INTO executions (id, plan_name, plan_hash, mode, state, started, actor, last_seq)
			VALUES ('ex-9', 'p', 'h-none', 'drill', 'running', 'x', 'a', 0)`, "FOREIGN KEY"},
		{"second live exclusive key", `INSERT INTO executions (id, plan_name, plan_hash, mode, state, started, actor, last_seq, exclusive)
			VALUES ('ex-3', 'three-tier', 'h1', 'drill', 'running', 'x', 'a', 0, 'three-tier@k')`, "UNIQUE"},
		{"exclusive key revived", `UPDATE executions SET state = 'running', exclusive = 'three-tier@k' WHERE id = 'ex-1'`, "UNIQUE"},
		{"lease epoch back", `UPDATE leases SET epoch = 0 WHERE execution_id = 'ex-1'`, "never goes back"},
		{"lease deleted", `DELETE FROM leases WHERE execution_id = 'ex-1'`, "never deleted"},
		{"lease of an unknown execution", `INSERT INTO leases VALUES ('ex-9', 'h', 1, 'x', 1, 'x', 'x')`, "FOREIGN KEY"},
		{"audit entry changed", `UPDATE audit SET actor = 'mallory' WHERE seq = 1`, "append-only"},
		{"audit entries changed", `UPDATE audit SET detail = ''`, "append-only"},
		{"audit entry deleted", `DELETE FROM audit WHERE seq = 2`, "append-only"},
		{"audit log emptied", `DELETE FROM audit`, "append-only"},
		{"audit entry replaced", `INSERT OR REPLACE INTO audit VALUES (1, 'x', 'mallory', 'a', '', '', '')`, "without a gap"},
		{"audit gap", `INSERT INTO audit VALUES (5, 'x', 'mallory', 'a', '', '', '')`, "without a gap"},
		{"audit entry without seq", `INSERT INTO audit (at, actor, action, object, remote, detail) VALUES ('x', 'mallory', 'a', '', '', '')`, "without a gap"},
		{"token role unknown", `INSERT INTO tokens VALUES ('tok_9', 'n', 'root', zeroblob(32), 'x', NULL, NULL)`, "CHECK"},
		{"token hash short", `INSERT INTO tokens VALUES ('tok_9', 'n', 'viewer', zeroblob(31), 'x', NULL, NULL)`, "CHECK"},
		{"token hash as text", `INSERT INTO tokens VALUES ('tok_9', 'n', 'viewer', '0123456789abcdef0123456789abcdef', 'x', NULL, NULL)`, "cannot store TEXT"},
		{"token hash taken", `INSERT INTO tokens SELECT 'tok_9', 'n', 'viewer', hash, 'x', NULL, NULL FROM tokens WHERE id = 'tok_1'`, "UNIQUE"},
		{"token unrevoked", `UPDATE tokens SET revoked = NULL WHERE id = 'tok_1'`, "stays revoked"},
		{"token revoked again later", `UPDATE tokens SET revoked = '2031-01-01T00:00:00.000000Z' WHERE id = 'tok_1'`, "stays revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.write.Exec(tt.sql)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
	evs, err := s.Events(context.Background(), "ex-1", 0, 0)
	if err != nil || len(evs) != 3 || evs[1].Type != "ExecutionStarted" {
		t.Errorf("events after the refused writes: %+v, %v", evs, err)
	}
	if l, err := s.Lease(ctx, "ex-1"); err != nil || l.Epoch != 1 || l.Owner.PID != driverA.PID {
		t.Errorf("lease after the refused writes: %+v, %v", l, err)
	}
	audit, err := s.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil || len(audit) != 3 || audit[0].Actor != "alice (tok_1)" || audit[1].Action != "token.revoke" || audit[2].Seq != 3 {
		t.Errorf("audit log after the refused writes: %+v, %v", audit, err)
	}
	if toks, err := s.ListTokens(ctx); err != nil || len(toks) != 1 || toks[0].Revoked.IsZero() {
		t.Errorf("tokens after the refused writes: %+v, %v; want tok_1, revoked", toks, err)
	}
}

// TestAuditAcrossStores: stores on one file, as processes (the server and
// a `ripcord token` command), append to the audit log at once: every entry
// lands, gapless, under the seq its appender was given.
func TestAuditAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	const n, each = 4, 20
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = openFile(t, path)
	}
	start := make(chan struct{})
	seqs := make([][]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			for k := range each {
				seq, err := s.AppendAudit(ctx, ripcord.AuditEntry{Actor: fmt.Sprint("store-", i), Action: "execution.pause", Object: fmt.Sprint(k)})
				if err != nil {
					errs[i] = err
					return
				}
				seqs[i] = append(seqs[i], seq)
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	list, err := stores[0].ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil || len(list) != n*each {
		t.Fatalf("ListAudit: %d entries, %v; want %d", len(list), err, n*each)
	}
	for i, e := range list {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	for i := range stores {
		for k, seq := range seqs[i] {
			if e := list[seq-1]; e.Actor != fmt.Sprint("store-", i) || e.Object != fmt.Sprint(k) {
				t.Fatalf("store %d's entry #%d was given seq %d, which holds %+v", i, k, seq, e)
			}
		}
	}
}

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
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file("x"), "migrations/0001_b.sql": file("y")}, 0, "0001_b.sql: expected version 2 next"},
		{"starts at 0", fstest.MapFS{"migrations/0000_a.sql": file("x")}, 0, "expected version 1 next"},
		{"bad name", fstest.MapFS{"migrations/1_init.sql": file("x")}, 0, "the name must be NNNN_words.sql"},
		{"empty", fstest.MapFS{"migrations/README": nil}, 0, "the name must be"},
		{"none", fstest.MapFS{"migrations": &fstest.MapFile{Mode: os.ModeDir}}, 0, "no migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []migration
			var err error
			if tt.fsys == nil {
				ms, err = loadMigrations(migrationFiles)
			} else {
				ms, err = loadMigrations(tt.fsys)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want >= 0 && len(ms) != tt.want {
				t.Errorf("%d migrations, want %d", len(ms), tt.want)
			}
			for i, m := range ms {
				if m.version != i+1 || m.sql == "" {
					t.Errorf("migration %d = %+v", i, m)
				}
			}
		})
	}
}

// TestMigrateUpgrade: a database at version 1 gets version 2 and only that;
// a failing migration leaves nothing of itself behind.
func TestMigrateUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upgrade.db")
	db := rawDB(t, path)
	db.SetMaxOpenConns(1)
	load := func(files map[string]string) []migration {
		t.Helper()
		fsys := fstest.MapFS{}
		for name, sql := range files {
			fsys["migrations/"+name] = &fstest.MapFile{Data: []byte(sql)}
		}
		ms, err := loadMigrations(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	v1 := map[string]string{"0001_one.sql": "CREATE TABLE one (x INTEGER);"}
	if err := migrate(ctx, db, path, load(v1)); err != nil {
		t.Fatalf("migrate to 1: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO one VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	v1["0002_two.sql"] = "CREATE TABLE two (y INTEGER); INSERT INTO two SELECT x + 1 FROM one;"
	if err := migrate(ctx, db, path, load(v1)); err != nil {
		t.Fatalf("migrate to 2: %v", err)
	}
	var y int
	if err := db.QueryRow(`SELECT y FROM two`).Scan(&y); err != nil || y != 2 {
		t.Errorf("two.y = %d, %v; want 2 (from the data of version 1, which was not re-created)", y, err)
	}
	v1["0003_bad.sql"] = "CREATE TABLE three (z INTEGER); SELECT no_such_function();"
	err := migrate(ctx, db, path, load(v1))
	if err == nil || !strings.Contains(err.Error(), "0003_bad.sql") {
		t.Fatalf("migrate with a failing migration: %v; want an error naming it", err)
	}
	if got := appliedMigrations(t, db); len(got) != 2 {
		t.Errorf("schema_migrations = %q, want versions 1 and 2 only", got)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'three'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed migration left table three behind (%d, %v)", n, err)
	}
}

// TestTwoStoresOneFile: two stores on one file, as two processes would
// have (`ripcord run` and `ripcord exec pause`), race to append; the file's
// lock and the seq check keep the log whole.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	a, b := openFile(t, path), openFile(t, path)
	fill(t, a)
	const each = 30
	start := make(chan struct{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			<-start
			for n := 0; n < each; {
				x, err := s.Execution(ctx, "ex-1")
				if err != nil {
					errs[i] = err
					return
				}
				_, err = s.Append(ctx, "ex-1", x.LastSeq, 0, []ripcord.Event{{At: t0, Actor: fmt.Sprint("store-", i), Type: "Tick"}}, nil)
				switch {
				case err == nil:
					n++
				case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
					errs[i] = err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	evs, err := b.Events(ctx, "ex-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3+2*each {
		t.Fatalf("%d events, want %d", len(evs), 3+2*each)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
}

// TestConcurrentOpen: processes that open a new file at once migrate it
// once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ripcord.db")
	const openers = 6
	start := make(chan struct{})
	errs := make([]error, openers)
	var wg sync.WaitGroup
	for i := range openers {
		wg.Go(func() {
			<-start
			s, err := Open(context.Background(), path)
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
			t.Errorf("opener %d: %v", i, err)
		}
	}
	embedded, _ := loadMigrations(migrationFiles)
	if got := appliedMigrations(t, rawDB(t, path)); len(got) != len(embedded) {
		t.Errorf("schema_migrations = %q, want each migration once", got)
	}
}

func TestOpenPaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, path string }{
		{"new nested directory", filepath.Join(dir, "a", "b", "ripcord.db")},
		{"characters a URI would misread", filepath.Join(dir, "we?ird #1 100%", "rip&cord=1.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill(t, openFile(t, tt.path))
			if _, err := os.Stat(tt.path); err != nil {
				t.Errorf("the database is not at the path given: %v", err)
			}
			st, err := os.Stat(filepath.Dir(tt.path))
			if err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("directory: %v, %v; want mode 0700", st.Mode(), err)
			}
		})
	}
	// A relative path is the same file from the working directory.
	t.Chdir(dir)
	fill(t, openFile(t, "relative.db"))
	if _, err := os.Stat(filepath.Join(dir, "relative.db")); err != nil {
		t.Errorf("relative path: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name, xdg, want string
	}{
		{"XDG_STATE_HOME", "/var/lib/alice-state", "/var/lib/alice-state/ripcord/ripcord.db"},
		{"unset", "", filepath.Join(home, ".local/state/ripcord/ripcord.db")},
		{"relative XDG_STATE_HOME is ignored", "state", filepath.Join(home, ".local/state/ripcord/ripcord.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			got, err := DefaultPath()
			if err != nil || got != tt.want {
				t.Errorf("DefaultPath() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// Two drivers on one host.
var (
	driverA = ripcord.LeaseOwner{Host: "dr-1", PID: 4242, Started: t0.Add(-time.Hour)}
	driverB = ripcord.LeaseOwner{Host: "dr-1", PID: 5151, Started: t0.Add(-time.Minute)}
)

// TestLeaseAcrossStores: two stores on one file, as `ripcord run` in two
// terminals would have: a lease one takes is seen and refused by the
// other, and once the other takes it over, the first can record nothing.
func TestLeaseAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	clock := storetest.NewClock(t0)
	a, b := openFile(t, path, WithClock(clock.Now)), openFile(t, path, WithClock(clock.Now))
	fill(t, a)

	held, err := a.AcquireLease(ctx, "ex-1", driverA, 30*time.Second)
	if err != nil {
		t.Fatalf("a: AcquireLease: %v", err)
	}
	if seen, err := b.Lease(ctx, "ex-1"); err != nil || seen != held {
		t.Fatalf("b: Lease = %+v, %v; want a's %+v", seen, err, held)
	}
	got, err := b.AcquireLease(ctx, "ex-1", driverB, 30*time.Second)
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), driverA.String()) || got != held {
		t.Fatalf("b: AcquireLease while a holds it = %+v, %v; want a conflict naming %s, with a's lease", got, err, driverA)
	}
	if _, err := b.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Paused"}}, nil); err != nil {
		t.Fatalf("b: a person's command (epoch 0): %v", err)
	}

	clock.Advance(30 * time.Second)
	taken, err := b.AcquireLease(ctx, "ex-1", driverB, 30*time.Second)
	if err != nil || taken.Epoch != 2 {
		t.Fatalf("b: takeover = %+v, %v; want epoch 2", taken, err)
	}
	_, err = a.Append(ctx, "ex-1", 4, held.Epoch, []ripcord.Event{{At: t0, Actor: ripcord.ActorEngine, Type: "LaunchRequested"}}, nil)
	if !errors.Is(err, ripcord.ErrLeaseLost) {
		t.Fatalf("a: Append with the old epoch: %v; want ErrLeaseLost", err)
	}
	if _, err := a.RenewLease(ctx, held, 30*time.Second); !errors.Is(err, ripcord.ErrLeaseLost) {
		t.Fatalf("a: RenewLease of the old lease: %v; want ErrLeaseLost", err)
	}
	if last, err := b.Append(ctx, "ex-1", 4, taken.Epoch, []ripcord.Event{{At: t0, Actor: ripcord.ActorEngine, Type: "LaunchRequested"}}, nil); err != nil || last != 5 {
		t.Fatalf("b: Append with its epoch = %d, %v; want 5", last, err)
	}
}

// TestRacesAcrossStores: stores on one file, as processes, acquire one
// lease and create executions with one exclusive key at the same moment;
// the file's lock and the schema let exactly one of each through.
func TestRacesAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	clock := storetest.NewClock(t0)
	const n = 6
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = openFile(t, path, WithClock(clock.Now))
	}
	fill(t, stores[0])

	race := func(call func(i int, s *Store) error) (winners []int) {
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				errs[i] = call(i, s)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			switch {
			case err == nil:
				winners = append(winners, i)
			case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
				t.Fatalf("store %d: %v, want a conflict", i, err)
			}
		}
		return winners
	}

	for round := range 3 {
		winners := race(func(i int, s *Store) error {
			_, err := s.AcquireLease(ctx, "ex-1", ripcord.LeaseOwner{Host: "dr-1", PID: 100 + i, Started: t0}, time.Minute)
			return err
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: stores %v acquired the lease, want exactly one", round, winners)
		}
		l, err := stores[0].Lease(ctx, "ex-1")
		if err != nil || l.Epoch != int64(round+1) || l.Owner.PID != 100+winners[0] {
			t.Fatalf("round %d: Lease = %+v, %v; want epoch %d held by pid %d", round, l, err, round+1, 100+winners[0])
		}
		clock.Advance(time.Minute)

		key := fmt.Sprint("three-tier@round-", round)
		winners = race(func(i int, s *Store) error {
			x := ripcord.Execution{ID: fmt.Sprintf("ex-%d-%d", round, i), PlanName: "three-tier", PlanHash: "h1",
				Mode: ripcord.ModeDrill, State: ripcord.ExecRunning, Started: t0, Actor: "alice", Exclusive: key}
			return s.CreateExecution(ctx, x, []ripcord.Event{{At: t0, Actor: ripcord.ActorEngine, Type: "ExecutionStarted"}})
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: stores %v created a live execution with key %s, want exactly one", round, winners, key)
		}
	}
}

// TestExclusiveRevival: an ended execution whose key another live
// execution took cannot be made live again by an Append; it is refused
// like a create, and nothing is written.
func TestExclusiveRevival(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, filepath.Join(t.TempDir(), "ripcord.db"))
	fill(t, s) // ex-1 succeeded
	if _, err := s.write.Exec(`UPDATE executions SET exclusive = 'three-tier@k' WHERE id = 'ex-1'`); err != nil {
		t.Fatal(err)
	}
	x := ripcord.Execution{ID: "ex-2", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeDrill,
		State: ripcord.ExecRunning, Started: t0, Actor: "alice", Exclusive: "three-tier@k"}
	if err := s.CreateExecution(ctx, x, []ripcord.Event{{At: t0, Actor: ripcord.ActorEngine, Type: "ExecutionStarted"}}); err != nil {
		t.Fatalf("CreateExecution of the key of an ended execution: %v", err)
	}
	running := ripcord.ExecRunning
	_, err := s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Retried"}}, &ripcord.ExecutionUpdate{State: &running})
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), `"ex-2" is running`) {
		t.Fatalf("Append reviving ex-1: %v; want a conflict naming ex-2, running", err)
	}
	if got, err := s.Execution(ctx, "ex-1"); err != nil || got.State != ripcord.ExecSucceeded || got.LastSeq != 3 {
		t.Errorf("after the refusal, ex-1 = %+v, %v; want it succeeded at seq 3", got, err)
	}
}

// TestUpgradeFromVersion1: a database written before leases keeps its
// executions, which have no exclusive key and were never leased.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	db := rawDB(t, path)
	db.SetMaxOpenConns(1)
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, path, ms[:1]); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO plan_versions VALUES ('h1', 'three-tier', x'00', '2025-03-14T09:26:53.589793Z')`,
		`INSERT INTO executions (id, plan_name, plan_hash, mode, state, started, actor, last_seq)
			VALUES ('ex-old', 'three-tier', 'h1', 'drill', 'running', '2025-03-14T09:26:53.589793Z', 'alice', 1)`,
		`INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-old', 1, '2025-03-14T09:26:53.589793Z', 'engine', 'ExecutionStarted')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openFile(t, path)
	x, err := s.Execution(ctx, "ex-old")
	if err != nil || x.Exclusive != "" || x.State != ripcord.ExecRunning {
		t.Fatalf("Execution after the upgrade = %+v, %v; want it running, without exclusive key", x, err)
	}
	if l, err := s.Lease(ctx, "ex-old"); err != nil || l.Epoch != 0 {
		t.Fatalf("Lease after the upgrade = %+v, %v; want epoch 0", l, err)
	}
	if l, err := s.AcquireLease(ctx, "ex-old", driverA, time.Minute); err != nil || l.Epoch != 1 {
		t.Fatalf("AcquireLease after the upgrade = %+v, %v; want epoch 1", l, err)
	}
	if vs, err := s.ListPlanVersions(ctx, "three-tier"); err != nil || len(vs) != 1 || vs[0].Hash != "h1" {
		t.Fatalf("ListPlanVersions after the upgrade = %+v, %v; want h1", vs, err)
	}
	if toks, err := s.ListTokens(ctx); err != nil || len(toks) != 0 {
		t.Fatalf("ListTokens after the upgrade = %+v, %v; want none", toks, err)
	}
	if seq, err := s.AppendAudit(ctx, ripcord.AuditEntry{Actor: "alice", Action: "plan.save"}); err != nil || seq != 1 {
		t.Fatalf("AppendAudit after the upgrade = %d, %v; want seq 1", seq, err)
	}
}

// TestDefaultClock: without WithClock, leases are judged on the wall
// clock.
func TestDefaultClock(t *testing.T) {
	s := openFile(t, Memory)
	fill(t, s)
	before := ripcord.StoreTime(time.Now())
	l, err := s.AcquireLease(context.Background(), "ex-1", driverA, time.Hour)
	after := ripcord.StoreTime(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.Acquired.Before(before) || l.Acquired.After(after) || !l.Expires.Equal(l.Acquired.Add(time.Hour)) {
		t.Errorf("lease %+v: want it acquired between %s and %s, for an hour", l, before, after)
	}
}
