package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
)

// TestSchemaGuards: the schema itself refuses gaps and changes to events
// and the audit log, lower epochs and generations, a second live exclusive
// key and a revoked token made live, whatever code writes to it, even from
// a session whose search_path is another schema.
func TestSchemaGuards(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	fill(t, s)
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
	m, err := s.AcquireMutex(ctx, "m", "h-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseMutex(ctx, m, true); err != nil {
		t.Fatal(err)
	}

	raw := rawConn(t, dsn)
	var schema string
	if err := raw.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	const now = `'2025-03-14T09:26:53Z'`
	tests := []struct {
		name, sql, want string
	}{
		{"gap", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-1', 5, ` + now + `, 'engine', 'Gap')`, "without a gap"},
		{"duplicate", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-1', 3, ` + now + `, 'engine', 'Dup')`, "without a gap"},
		{"two at once with a gap", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-1', 4, ` + now + `, 'engine', 'A'), ('ex-1', 6, ` + now + `, 'engine', 'B')`, "without a gap"},
		{"unknown execution", `INSERT INTO events (execution_id, seq, at, actor, type) VALUES ('ex-9', 1, ` + now + `, 'engine', 'Orphan')`, "foreign key"},
		{"update", `UPDATE events SET type = 'Rewritten' WHERE seq = 2`, "append-only"},
		{"delete", `DELETE FROM events WHERE seq = 3`, "append-only"},
		{"truncate", `TRUNCATE events CASCADE`, "append-only"},
		{"unknown plan", `INSERT INTO executions (id, plan_name, plan_hash, mode, state, started, actor, last_seq)
			VALUES ('ex-9', 'p', 'h-none', 'drill', 'running', ` + now + `, 'a', 0)`, "foreign key"},
		{"second live exclusive key", `INSERT INTO executions (id, plan_name, plan_hash, mode, state, started, actor, last_seq, exclusive)
			VALUES ('ex-3', 'three-tier', 'h1', 'drill', 'running', ` + now + `, 'a', 0, 'three-tier@k')`, "executions_exclusive_live"},
		{"exclusive key revived", `UPDATE executions SET state = 'running', exclusive = 'three-tier@k' WHERE id = 'ex-1'`, "executions_exclusive_live"},
		{"lease epoch back", `UPDATE leases SET epoch = 0 WHERE execution_id = 'ex-1'`, "never goes back"},
		{"lease epoch one back", `UPDATE leases SET epoch = epoch - 1 WHERE execution_id = 'ex-1'`, "never goes back"},
		{"lease deleted", `DELETE FROM leases WHERE execution_id = 'ex-1'`, "never deleted"},
		{"leases truncated", `TRUNCATE leases`, "never deleted"},
		{"lease of an unknown execution", `INSERT INTO leases VALUES ('ex-9', 'h', 1, ` + now + `, 1, ` + now + `, ` + now + `)`, "foreign key"},
		{"audit entry changed", `UPDATE audit SET actor = 'mallory' WHERE seq = 1`, "append-only"},
		{"audit entries changed", `UPDATE audit SET detail = ''`, "append-only"},
		{"audit entry deleted", `DELETE FROM audit WHERE seq = 2`, "append-only"},
		{"audit log emptied", `DELETE FROM audit`, "append-only"},
		{"audit log truncated", `TRUNCATE audit`, "append-only"},
		{"audit entry replaced", `INSERT INTO audit VALUES (1, ` + now + `, 'mallory', 'a', '', '', '') ON CONFLICT (seq) DO UPDATE SET actor = 'mallory'`, "without a gap"},
		{"audit gap", `INSERT INTO audit VALUES (5, ` + now + `, 'mallory', 'a', '', '', '')`, "without a gap"},
		{"audit entry without seq", `INSERT INTO audit (at, actor, action, object, remote, detail) VALUES (` + now + `, 'mallory', 'a', '', '', '')`, "without a gap"},
		{"token role unknown", `INSERT INTO tokens VALUES ('tok_9', 'n', 'root', '\x` + strings.Repeat("00", 32) + `', ` + now + `, NULL, NULL)`, "tokens_role_check"},
		{"token hash short", `INSERT INTO tokens VALUES ('tok_9', 'n', 'viewer', '\x` + strings.Repeat("00", 31) + `', ` + now + `, NULL, NULL)`, "tokens_hash_check"},
		{"token hash taken", `INSERT INTO tokens SELECT 'tok_9', 'n', 'viewer', hash, ` + now + `, NULL, NULL FROM tokens WHERE id = 'tok_1'`, "tokens_hash_key"},
		{"token unrevoked", `UPDATE tokens SET revoked = NULL WHERE id = 'tok_1'`, "stays revoked"},
		{"token revoked again later", `UPDATE tokens SET revoked = '2031-01-01T00:00:00Z' WHERE id = 'tok_1'`, "stays revoked"},
		{"mutex generation back", `UPDATE mutexes SET gen = 0 WHERE name = 'm'`, "never goes back"},
		{"mutex deleted", `DELETE FROM mutexes`, "never deleted"},
		{"mutexes truncated", `TRUNCATE mutexes`, "never deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := raw.Exec(ctx, tt.sql)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
	// The triggers find their tables from another search_path too.
	t.Run("from another schema", func(t *testing.T) {
		if _, err := raw.Exec(ctx, `SET search_path TO public`); err != nil {
			t.Fatal(err)
		}
		_, err := raw.Exec(ctx, `INSERT INTO `+schema+`.events (execution_id, seq, at, actor, type) VALUES ('ex-1', 7, `+now+`, 'engine', 'Gap')`)
		if err == nil || !strings.Contains(err.Error(), "without a gap") {
			t.Errorf("err = %v, want the gap refused", err)
		}
	})

	evs, err := s.Events(ctx, "ex-1", 0, 0)
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
	if got, err := s.AcquireMutex(ctx, "m", "h-b", time.Minute); err != nil || got.Gen != 1 {
		t.Errorf("mutex after the refused writes: %+v, %v; want gen 1", got, err)
	}
}

// TestExclusiveRevival: an ended execution whose key another live
// execution took cannot be made live again by an Append; it is refused
// like a create, and nothing is written.
func TestExclusiveRevival(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	fill(t, s) // ex-1 succeeded
	if _, err := rawConn(t, dsn).Exec(ctx, `UPDATE executions SET exclusive = 'three-tier@k' WHERE id = 'ex-1'`); err != nil {
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
	if evs, err := s.Events(ctx, "ex-1", 0, 0); err != nil || len(evs) != 3 {
		t.Errorf("after the refusal, ex-1 has %d events, %v; want 3", len(evs), err)
	}
}

// TestTextPostgresCannotKeep: what PostgreSQL's text cannot hold (bytes
// that are not UTF-8, NUL) is refused as EINVALID before it reaches the
// database, where SQLite would have kept it; JSON that is valid but not
// UTF-8 too.
func TestTextPostgresCannotKeep(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.DSN(t))
	fill(t, s)
	calls := map[string]func() error{
		"event type with NUL": func() error {
			_, err := s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "a", Type: "T\x00"}}, nil)
			return err
		},
		"event data not UTF-8": func() error {
			_, err := s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "a", Type: "T", Data: []byte("\"\xff\"")}}, nil)
			return err
		},
		"summary not UTF-8": func() error {
			_, err := s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "a", Type: "T"}}, &ripcord.ExecutionUpdate{Summary: []byte("\"\xfe\"")})
			return err
		},
		"execution actor not UTF-8": func() error {
			x := ripcord.Execution{ID: "ex-9", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeDrill,
				State: ripcord.ExecRunning, Started: t0, Actor: "al\xffice"}
			return s.CreateExecution(ctx, x, []ripcord.Event{{At: t0, Actor: "a", Type: "T"}})
		},
		"plan name with NUL": func() error {
			return s.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h9", Name: "p\x00", Source: []byte("x"), Created: t0})
		},
		"owner host not UTF-8": func() error {
			_, err := s.AcquireLease(ctx, "ex-1", ripcord.LeaseOwner{Host: "h\xff", PID: 1, Started: t0}, time.Minute)
			return err
		},
		"execution ID with NUL, to read": func() error { _, err := s.Execution(ctx, "ex\x00"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); ripcord.ErrorCode(err) != ripcord.EINVALID {
				t.Errorf("err = %v (code %s), want EINVALID", err, ripcord.ErrorCode(err))
			}
		})
	}
	if x, err := s.Execution(ctx, "ex-1"); err != nil || x.LastSeq != 3 {
		t.Errorf("ex-1 after the refusals = %+v, %v", x, err)
	}
}

// TestDefaultClock: without WithClock, leases, heartbeats, mutexes, tokens
// and audit entries are on the database server's clock.
func TestDefaultClock(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	fill(t, s)
	raw := rawConn(t, dsn)
	serverNow := func() time.Time {
		var now time.Time
		if err := raw.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
			t.Fatal(err)
		}
		return ripcord.StoreTime(now)
	}
	before := serverNow()
	l, err := s.AcquireLease(ctx, "ex-1", driverA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, ripcord.Token{ID: "tok_1", Name: "alice", Role: ripcord.RoleViewer, Hash: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, ripcord.AuditEntry{Actor: "alice", Action: "plan.save"}); err != nil {
		t.Fatal(err)
	}
	live, err := s.Heartbeat(ctx, ripcord.Replica{ID: "r-1", Owner: driverA}, time.Minute)
	if err != nil || len(live) != 1 {
		t.Fatalf("Heartbeat = %+v, %v", live, err)
	}
	m, err := s.AcquireMutex(ctx, "m", "r-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	after := serverNow()

	toks, err := s.ListTokens(ctx)
	if err != nil || len(toks) != 1 {
		t.Fatalf("ListTokens = %+v, %v", toks, err)
	}
	audit, err := s.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil || len(audit) != 1 {
		t.Fatalf("ListAudit = %+v, %v", audit, err)
	}
	within := func(what string, got time.Time) {
		t.Helper()
		if got.Before(before) || got.After(after) || got.Location() != time.UTC {
			t.Errorf("%s = %s, want it between %s and %s on the server's clock, in UTC", what, got, before, after)
		}
	}
	within("lease acquired", l.Acquired)
	within("token created", toks[0].Created)
	within("audit entry", audit[0].At)
	within("replica started", live[0].Started)
	within("replica seen", live[0].Seen)
	within("mutex expiry - ttl", m.Expires.Add(-time.Minute))
	if !l.Expires.Equal(l.Acquired.Add(time.Hour)) || !live[0].Expires.Equal(live[0].Seen.Add(time.Minute)) {
		t.Errorf("lease %+v, replica %+v: want expiries ttl after", l, live[0])
	}
	if err := s.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := s.Lease(ctx, "ex-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Expires.Before(l.Acquired) || got.Expires.After(serverNow()) {
		t.Errorf("released lease %+v: want it expiring at the release, on the server's clock", got)
	}
}
