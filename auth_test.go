package ripcord

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRoles(t *testing.T) {
	for i, r := range Roles {
		for j, need := range Roles {
			if got := r.Allows(need); got != (i >= j) {
				t.Errorf("%s.Allows(%s) = %v", r, need, got)
			}
		}
		if Role("root").Allows(r) || r.Allows("root") {
			t.Errorf("an unknown role allows or is allowed by %s", r)
		}
	}
	if _, err := ParseRole("superuser"); ErrorCode(err) != EINVALID || !strings.Contains(ErrorHint(err), "viewer") {
		t.Errorf("ParseRole(superuser): %v", err)
	}
	if r, err := ParseRole("operator"); err != nil || r != RoleOperator {
		t.Errorf("ParseRole(operator) = %v, %v", r, err)
	}
}

func TestNewToken(t *testing.T) {
	s1, id1, h1, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	s2, id2, _, _ := NewToken()
	if s1 == s2 || id1 == id2 {
		t.Error("two tokens alike")
	}
	if !strings.HasPrefix(s1, TokenPrefix) || len(s1) != len(TokenPrefix)+43 || !strings.HasPrefix(id1, "tok_") || len(id1) != 20 {
		t.Errorf("token %q (id %q): want %s and 43 characters, tok_ and 16", s1, id1, TokenPrefix)
	}
	if !bytes.Equal(h1, TokenHash(s1)) || len(h1) != 32 || bytes.Equal(h1, TokenHash(s2)) {
		t.Error("the hash is not SHA-256 of the secret")
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tok := Token{Expires: now.Add(time.Hour)}
	if !tok.Live(now) || tok.Live(now.Add(time.Hour)) {
		t.Error("expiry is not judged at now")
	}
	tok.Revoked = now
	if tok.Live(now) {
		t.Error("a revoked token is live")
	}
}
