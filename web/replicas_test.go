package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/postgres"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
	"github.com/ripcord-dr/ripcord/web"
)

// TestStreamAcrossReplicas: two servers on one PostgreSQL database, each
// with a store (a pool and a listener) of its own, as two replicas have.
// A client follows an execution's event stream on replica A while the
// events are appended through replica B's store. A's streams read the
// store only every hour here, so every event that arrives came through
// the store's notes (LISTEN/NOTIFY): each arrives once, in order, none is
// missing, including a burst of more than one page appended at once.
func TestStreamAcrossReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgtest.Database(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	h, err := web.New(web.Config{Store: a, PollInterval: time.Hour, KeepAlive: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); srv.Close() })
	secret, id, hash, err := ripcord.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateToken(ctx, ripcord.Token{ID: id, Name: "viewer", Role: ripcord.RoleViewer, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	pv := ripcord.PlanVersion{Hash: "h1", Name: "orders", Source: orders, Created: time.Now()}
	if err := b.SavePlanVersion(ctx, pv); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	x := "orders-20261201T090000-bbbbbb"
	spec := engine.Spec{Plan: "orders", PlanHash: "h1", Mode: ripcord.ModeDrill,
		Targets: []ripcord.Target{{Name: "dr", Account: "111122223333", Region: "us-east-1"}},
		Steps:   []engine.SpecStep{{Name: "database", Kind: ripcord.StepLaunch, Servers: []engine.SpecServer{{ID: serverID, Target: "dr"}}}}}
	if err := b.CreateExecution(ctx, ripcord.Execution{ID: x, PlanName: "orders", PlanHash: "h1", Mode: ripcord.ModeDrill,
		State: ripcord.ExecRunning, Started: now, Actor: "alice"}, []ripcord.Event{ev(engine.EvExecutionStarted, now, spec)}); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan ripcord.Event, 10000)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = cl.Follow(fctx, x, 0, func(e ripcord.Event) error { got <- e; return nil }) }()
	next := int64(1)
	take := func(upTo int64) {
		t.Helper()
		for next <= upTo {
			select {
			case e := <-got:
				if e.Seq != next {
					t.Fatalf("event %d arrived when %d was due: lost or repeated", e.Seq, next)
				}
				next++
			case <-ctx.Done():
				t.Fatalf("event %d did not arrive through replica A (its store read only on notes)", next)
			}
		}
	}
	take(1)
	last := int64(1)
	for i := range 20 {
		l, err := b.Append(ctx, x, last, 0, []ripcord.Event{outage(now, i+2)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		last = l
		take(last) // one at a time: each note wakes A's stream
	}
	burst := make([]ripcord.Event, 1500) // more than a page of the stream
	for i := range burst {
		burst[i] = outage(now, int(last)+i+1)
	}
	if last, err = b.Append(ctx, x, last, 0, burst, nil); err != nil {
		t.Fatal(err)
	}
	take(last)
	select {
	case e := <-got:
		t.Fatalf("an extra event %d arrived", e.Seq)
	default:
	}
}

// TestConsoleSessionAcrossReplicas: a console session begun on replica A
// is served by replica B (the store keeps it, not A's memory), B's forms
// carry its CSRF token, and signing out on B ends it on A too.
func TestConsoleSessionAcrossReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.Database(t)
	var urls []string
	var store *postgres.Store
	for range 2 {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		h, err := web.New(web.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(func() { h.Close(); srv.Close() })
		urls = append(urls, srv.URL)
		store = st
	}
	secret, id, hash, err := ripcord.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateToken(ctx, ripcord.Token{ID: id, Name: "carol", Role: ripcord.RoleOperator, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, base, path string, cookies []*http.Cookie, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	csrfOf := func(page string) string {
		m := csrfRe.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the page:\n%s", page)
		}
		return m[1]
	}
	a, b := urls[0], urls[1]
	resp, page := do("GET", a, "/console/signin", nil, nil)
	resp, _ = do("POST", a, "/console/signin", resp.Cookies(), url.Values{"csrf": {csrfOf(page)}, "token": {secret}})
	var session []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ripcord_session" {
			session = append(session, c)
		}
	}
	if resp.StatusCode != http.StatusSeeOther || len(session) != 1 {
		t.Fatalf("sign-in on A: %s, cookies %v", resp.Status, resp.Cookies())
	}
	resp, page = do("GET", b, "/console", session, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "carol") {
		t.Fatalf("replica B with A's session: %s", resp.Status)
	}
	resp, _ = do("POST", b, "/console/signout", session, url.Values{"csrf": {csrfOf(page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on B: %s", resp.Status)
	}
	if resp, _ = do("GET", a, "/console", session, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
		t.Errorf("replica A after signing out on B: %s %s; want a redirect to the sign-in form", resp.Status, resp.Header.Get("Location"))
	}
}
