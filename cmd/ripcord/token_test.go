package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// TestTokenCreateListRevoke: create prints only the token, once; the store
// keeps its hash (the secret appears nowhere in it); list never shows a
// secret or hash; revoke ends it; each change is audited with who made it.
// Bad flags change nothing.
func TestTokenCreateListRevoke(t *testing.T) {
	c := newCLIEnv(t)
	out, errOut, code := c.ripcord("token", "create", "--db", c.db, "--role", "operator", "--name", "alice", "--expires", "720h")
	if code != 0 {
		t.Fatalf("create: exit %d\n%s", code, errOut)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, ripcord.TokenPrefix) || strings.Count(out, "\n") != 1 {
		t.Fatalf("create printed %q; want only the token on one line", out)
	}
	for _, bad := range [][]string{
		{"--role", "root", "--name", "x"},
		{"--role", "viewer"},
		{"--role", "viewer", "--name", "x", "--expires", "-1h"},
	} {
		if _, errOut, code := c.ripcord(append([]string{"token", "create", "--db", c.db}, bad...)...); code != exitInvalid || errOut == "" {
			t.Errorf("token create %v: exit %d, %q; want 2 with a reason", bad, code, errOut)
		}
	}

	out, _, code = c.ripcord("token", "list", "--db", c.db, "--output", "json")
	if code != 0 || strings.Contains(out, secret) || strings.Contains(out, "hash") {
		t.Fatalf("list: exit %d, %s; want the tokens without secret or hash", code, out)
	}
	var rows []struct {
		ID, Name string
		Role     ripcord.Role
		Expires  string
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Name != "alice" || rows[0].Role != ripcord.RoleOperator || rows[0].Expires == "" {
		t.Fatalf("list: %v %+v; want alice, operator, with an expiry, alone (the refused ones stored nothing)", err, rows)
	}

	store, err := sqlite.Open(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tok, err := store.TokenByHash(context.Background(), ripcord.TokenHash(secret))
	if err != nil || tok.ID != rows[0].ID || !tok.Live(tok.Created) {
		t.Fatalf("the store's token for the secret: %+v, %v", tok, err)
	}

	if _, errOut, code := c.ripcord("token", "revoke", "--db", c.db, rows[0].ID); code != 0 {
		t.Fatalf("revoke: exit %d\n%s", code, errOut)
	}
	if tok, _ := store.TokenByHash(context.Background(), ripcord.TokenHash(secret)); tok.Revoked.IsZero() {
		t.Error("the token is not revoked")
	}
	if _, _, code := c.ripcord("token", "revoke", "--db", c.db, "tok_0000000000000000"); code != exitInvalid {
		t.Errorf("revoking an unknown token: exit %d; want 2", code)
	}
	audit, err := store.ListAudit(context.Background(), ripcord.AuditFilter{})
	if err != nil || len(audit) != 2 || audit[0].Action != "token.create" || audit[1].Action != "token.revoke" ||
		!strings.Contains(audit[0].Actor, "(cli)") || audit[1].Object != rows[0].ID {
		t.Errorf("audit log %+v, %v; want the create and the revoke, by the local user", audit, err)
	}
}
