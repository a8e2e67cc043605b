package ripcord

import (
	"strings"
	"testing"
)

// TestApprovalAllows: identities by token name, whatever the role; roles
// by rank (a stronger role may too); nobody else.
func TestApprovalAllows(t *testing.T) {
	a := Approval{Roles: []Role{RoleRecovery}, Identities: []string{"alice"}}
	for _, tc := range []struct {
		name string
		role Role
		want bool
	}{
		{"alice", RoleViewer, true},
		{"bob", RoleRecovery, true},
		{"carol", RoleAdmin, true},
		{"dave", RoleOperator, false},
		{"erin", RoleViewer, false},
		{"Alice", RoleViewer, false},
	} {
		if got := a.Allows(tc.name, tc.role); got != tc.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tc.name, tc.role, got, tc.want)
		}
	}
	if got := a.Approvers(); got != `role recovery (or above), token "alice"` {
		t.Errorf("Approvers() = %q", got)
	}
}

// TestApprovalLink: a link parses back under its secret only, and any
// change to it is refused.
func TestApprovalLink(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	l := ApprovalLink{Execution: "orders-20261125T090000-aaaaaa", Step: "go-ahead", Seq: 42}
	tok := l.Sign(secret)
	got, err := ParseApprovalLink(tok, secret)
	if err != nil || got != l {
		t.Fatalf("ParseApprovalLink = %+v, %v; want %+v", got, err, l)
	}
	other := ApprovalLink{Execution: l.Execution, Step: l.Step, Seq: 43}.Sign(secret)
	payload, _, _ := strings.Cut(other, ".")
	_, sig, _ := strings.Cut(tok, ".")
	for name, bad := range map[string]string{
		"another secret":  l.Sign([]byte("another secret, 32 bytes long...")),
		"another payload": payload + "." + sig,
		"truncated":       tok[:len(tok)-2],
		"no signature":    payload,
		"empty":           "",
		"not base64":      "!!!." + sig,
	} {
		if _, err := ParseApprovalLink(bad, secret); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v; want EINVALID", name, err)
		}
	}
}
