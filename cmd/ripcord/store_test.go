package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// TestMigrate: `ripcord migrate` brings an empty PostgreSQL database to
// the schema this ripcord knows, says so, and is a no-op the second time;
// --check passes then. A flag error is EINVALID.
func TestMigrate(t *testing.T) {
	c := newCLIEnv(t)
	dsn := pgtest.Database(t)
	out, errOut, code := c.ripcord("migrate", "--db", dsn, "--check")
	if code != 1 || !strings.Contains(errOut, "schema changes are pending") {
		t.Fatalf("migrate --check on an empty database: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = c.ripcord("migrate", "--db", dsn)
	if want := "schema version 0 -> " + strconv.Itoa(postgres.KnownVersion()); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("migrate: exit %d, %q; want %q\n%s", code, out, want, errOut)
	}
	out, _, code = c.ripcord("migrate", "--db", dsn)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate again: exit %d, %q", code, out)
	}
	if out, errOut, code = c.ripcord("migrate", "--db", dsn, "--check"); code != 0 {
		t.Fatalf("migrate --check after migrating: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code = c.ripcord("migrate", "--db", dsn, "extra"); code != exitInvalid {
		t.Errorf("migrate with an argument: exit %d\n%s", code, errOut)
	}
}

// TestStoreCopy: an SQLite store with a finished drill, a revoked and a
// live token and audit entries is copied into PostgreSQL: everything reads
// back equal (copy compares itself; the test compares the execution list
// and the token's use too). Copying again into the now non-empty database
// is refused and changes nothing; a store whose execution is being driven
// is refused before anything is copied.
func TestStoreCopy(t *testing.T) {
	c := newCLIEnv(t)
	out, errOut, code := c.ripcord(append([]string{"run", "-f", "../../examples/three-tier.yaml", "--drill", "--id", "d1", "--output", "json"}, c.conn()...)...)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	live := c.mintToken("operator")
	revoked := c.mintToken("viewer")
	ctx := context.Background()
	src, err := sqlite.Open(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := src.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Role == ripcord.RoleViewer {
			if err := src.RevokeToken(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := src.AppendAudit(ctx, ripcord.AuditEntry{Actor: "test", Action: "token.revoke", Object: "viewer", Remote: "cli"}); err != nil {
		t.Fatal(err)
	}
	// A sent notification of the drill, and one of the plan's readiness
	// still being sent: the copy keeps both as they are.
	for _, d := range []ripcord.Delivery{
		{ExecutionID: "d1", Seq: 1, Destination: "webhook:https://hooks.example.com#0123abcd", Kind: ripcord.NotifyStarted},
		{ExecutionID: "readiness:orders", Seq: 42, Destination: "sns:arn:aws:sns:us-east-1:111122223333:dr", Kind: ripcord.NotifyReadiness},
	} {
		got, ok, err := src.ClaimDelivery(ctx, d, "replica-1", time.Minute)
		if err != nil || !ok {
			t.Fatalf("claim %+v: %v, %v", d, ok, err)
		}
		if d.Kind == ripcord.NotifyStarted {
			got.Status, got.Attempts = ripcord.DeliverySent, 1
			if _, err := src.RecordDelivery(ctx, got, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	src.Close()

	dsn := pgtest.Database(t)
	out, errOut, code = c.ripcord("store", "copy", "--from", c.db, "--to", dsn)
	if code != 0 || !strings.Contains(out, "1 executions") || !strings.Contains(out, "2 notification deliveries") || !strings.Contains(out, "2 tokens") || !strings.Contains(out, "equal") {
		t.Fatalf("store copy: exit %d\n%s%s", code, out, errOut)
	}
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for tok, want := range map[string]bool{live: true, revoked: false} {
		got, err := dst.TokenByHash(ctx, ripcord.TokenHash(tok))
		if err != nil {
			t.Fatal(err)
		}
		if got.Live(time.Now()) != want {
			t.Errorf("token %s… live in the copy: %v, want %v", tok[:8], got.Live(time.Now()), want)
		}
	}
	listed := func(db string) string {
		out, errOut, code := c.ripcord("exec", "list", "--output", "json", "--db", db)
		if code != 0 {
			t.Fatalf("exec list --db %s: %s", db, errOut)
		}
		return out
	}
	if a, b := listed(c.db), listed(dsn); a != b {
		t.Errorf("exec list differs between the stores:\n%s\nvs\n%s", a, b)
	}

	before := listed(dsn)
	out, errOut, code = c.ripcord("store", "copy", "--from", c.db, "--to", dsn)
	if code == 0 || !strings.Contains(errOut, "d1") {
		t.Errorf("copying into a non-empty store: exit %d\n%s%s", code, out, errOut)
	}
	if after := listed(dsn); after != before {
		t.Errorf("a refused copy changed the store")
	}

	// A store whose execution is being driven is not copied.
	src, err = sqlite.Open(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AcquireLease(ctx, "d1", ripcord.LeaseOwner{Host: "elsewhere", PID: 1, Started: time.Now()}, time.Hour); err != nil {
		t.Fatal(err)
	}
	src.Close()
	empty := pgtest.Database(t)
	if _, errOut, code = c.ripcord("store", "copy", "--from", c.db, "--to", empty); code == 0 || !strings.Contains(errOut, "being driven") {
		t.Errorf("copying a driven store: exit %d\n%s", code, errOut)
	}
	if _, errOut, code = c.ripcord("store", "copy", "--from", dsn, "--to", empty); code != exitInvalid {
		t.Errorf("copy from PostgreSQL: exit %d\n%s", code, errOut)
	}
}
