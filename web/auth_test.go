package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// TestBadTokens: unknown, expired, revoked and malformed tokens all get the
// same 401, change nothing but the audit log, and are audited with what
// they were (for admins, not for the caller).
func TestBadTokens(t *testing.T) {
	e := newEnv(t)
	expiring, expTok := e.mintToken("temp", ripcord.RoleAdmin, e.clock.Now().Add(time.Hour))
	revoking, revTok := e.mintToken("gone", ripcord.RoleAdmin, time.Time{})
	for _, s := range []string{expiring, revoking} {
		if _, err := e.client(s).Plans(e.ctx); err != nil {
			t.Fatalf("a live token: %v", err)
		}
	}
	e.clock.Advance(time.Hour)
	if err := e.store.RevokeToken(e.ctx, revTok.ID); err != nil {
		t.Fatal(err)
	}
	unknown, _, _, err := ripcord.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()

	var first *client.ErrorDetail
	for _, tc := range []struct {
		name   string
		header []string // Authorization headers
		audit  string   // what the audit entry's detail says
		object string
	}{
		{"expired", []string{"Bearer " + expiring}, "expired", expTok.ID},
		{"revoked", []string{"Bearer " + revoking}, "revoked", revTok.ID},
		{"unknown", []string{"Bearer " + unknown}, "unknown", ""},
		{"lowercase scheme, unknown", []string{"bearer " + unknown}, "unknown", ""},
		{"basic", []string{"Basic YWxpY2U6c2VjcmV0"}, "malformed", ""},
		{"empty bearer", []string{"Bearer "}, "malformed", ""},
		{"space in token", []string{"Bearer " + unknown + " x"}, "malformed", ""},
		{"too long", []string{"Bearer " + strings.Repeat("a", 300)}, "malformed", ""},
		{"two headers", []string{"Bearer " + e.secrets[ripcord.RoleAdmin], "Bearer " + unknown}, "malformed", ""},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/plans", nil)
		req.Header["Authorization"] = tc.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", tc.name, resp.StatusCode)
		}
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tc.name)
		}
		ed := errorOf(t, resp.StatusCode, resp.Header, body)
		if first == nil {
			first = &ed
		} else if ed.Message != first.Message || ed.Hint != first.Hint || ed.Code != first.Code {
			t.Errorf("%s: answer %+v differs from %+v: it tells which failure it was", tc.name, ed, *first)
		}
		list, err := e.store.ListAudit(e.ctx, ripcord.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		last := list[len(list)-1]
		if last.Action != "signin.failed" || !strings.Contains(last.Detail, tc.audit) || last.Object != tc.object || last.Remote != "127.0.0.1" {
			t.Errorf("%s: audit entry %+v", tc.name, last)
		}
	}
	// Nothing changed but the audit log.
	after := e.snapshot()
	if n := len(after.Audit) - len(before.Audit); n != 9 {
		t.Errorf("%d audit entries, want 9", n)
	}
	after.Audit, before.Audit = nil, nil
	if !reflect.DeepEqual(before, after) {
		t.Errorf("bad tokens changed the store:\nbefore %+v\nafter  %+v", before, after)
	}

	// Through the client: the same code.
	_, err = e.client(expiring).Plans(e.ctx)
	wantCode(t, err, client.EUNAUTHENTICATED)
}

// TestSignInRateLimit: past the burst of failed sign-ins from one address,
// every request from it is refused with 429 and Retry-After, a valid token
// too, until a failure's worth has refilled on the server's clock; other
// addresses are not affected; requests without a token do not count; the
// refused ones are not audited.
func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.SignInBurst, c.SignInEvery = 3, time.Minute })
	admin := e.as(ripcord.RoleAdmin)
	bad := e.client("rpc_wrong")
	anon := e.client("")

	for range 20 { // no token: refused, neither counted nor audited
		_, err := anon.Plans(e.ctx)
		wantCode(t, err, client.EUNAUTHENTICATED)
	}
	audit0 := len(e.snapshot().Audit)
	for range 3 {
		_, err := bad.Plans(e.ctx)
		wantCode(t, err, client.EUNAUTHENTICATED)
	}
	for _, c := range []*client.Client{bad, admin} {
		_, err := c.Plans(e.ctx)
		re := wantCode(t, err, client.ERATELIMITED)
		if !strings.Contains(re.Hint, "60") {
			t.Errorf("hint %q does not say how long to wait", re.Hint)
		}
	}
	status, h, body := e.raw("GET", "/api/v1/plans", e.secrets[ripcord.RoleAdmin], nil, nil)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "60" || errorOf(t, status, h, body).Code != client.ERATELIMITED {
		t.Fatalf("status %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
	}
	if n := len(e.snapshot().Audit) - audit0; n != 3 {
		t.Errorf("%d audit entries, want 3 (the failures, not the refusals)", n)
	}

	// Another address is not limited.
	if other := otherLoopback(t, e); other != nil {
		if _, err := other.Plans(e.ctx); err != nil {
			t.Errorf("from 127.0.0.2: %v", err)
		}
	}

	// A failure's worth refills in a minute; one more failure empties it.
	e.clock.Advance(30 * time.Second)
	status, h, _ = e.raw("GET", "/api/v1/plans", e.secrets[ripcord.RoleAdmin], nil, nil)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "30" {
		t.Fatalf("after 30s: status %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	e.clock.Advance(30 * time.Second)
	if _, err := admin.Plans(e.ctx); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	_, err := bad.Plans(e.ctx)
	wantCode(t, err, client.EUNAUTHENTICATED)
	_, err = admin.Plans(e.ctx)
	wantCode(t, err, client.ERATELIMITED)
}

// otherLoopback returns an admin client that connects from 127.0.0.2, or
// nil where that address cannot be used.
func otherLoopback(t *testing.T, e *env) *client.Client {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	conn, err := (&net.Dialer{LocalAddr: local}).Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Logf("127.0.0.2 cannot be used here (%v): not tested", err)
		return nil
	}
	conn.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{LocalAddr: local}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := client.New(e.srv.URL, e.secrets[ripcord.RoleAdmin], client.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
