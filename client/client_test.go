package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "ripcord.example.com", "ftp://x", "http://", "http://u:p@x", "http://x?a=1", "http://x/#f", "://"} {
		if _, err := New(bad, "t"); ripcord.ErrorCode(err) != ripcord.EINVALID {
			t.Errorf("New(%q): %v, want EINVALID", bad, err)
		}
	}
	if _, err := New("http://x", "a\nb"); ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("a token with a newline: %v", err)
	}
	c, err := New("https://x.example/ripcord", "t")
	if err != nil || c.BaseURL() != "https://x.example/ripcord/" {
		t.Fatalf("%v %v", c.BaseURL(), err)
	}
	if got := c.endpoint("api/v1/plans/"+seg("a/b c"), nil); got != "https://x.example/ripcord/api/v1/plans/a%2Fb%20c" {
		t.Fatalf("endpoint %q", got)
	}
}

// TestErrors: the server's errors come back with its code, message and
// hint; answers that are not the API's, lost connections and cancelled
// contexts are told apart.
func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p/api/v1/plans/x":
			if r.Header.Get("Authorization") != "Bearer secret" {
				t.Errorf("authorization %q", r.Header.Get("Authorization"))
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"code":"not_found","message":"no plan named \"x\"","hint":"list them","extra":1}}`)
		case "/p/api/v1/plans":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>Bad Gateway</html>")
		case "/p/api/v1/tokens":
			w.WriteHeader(500)
			fmt.Fprint(w, "boom")
		case "/p/api/v1/audit":
			http.Redirect(w, r, "http://elsewhere.example/steal", http.StatusFound)
		case "/p/api/v1/executions":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"executions":[{"id":"a","new":"field"}],"more":false,"added":true}`)
		case "/p/healthz":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/p", "secret")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err = c.Plan(ctx, "x")
	if re, ok := err.(*ripcord.Error); !ok || *re != (ripcord.Error{Code: ripcord.ENOTFOUND, Message: `no plan named "x"`, Hint: "list them"}) {
		t.Errorf("API error: %#v", err)
	}
	if _, err = c.Plans(ctx); ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || !strings.Contains(err.Error(), "502") {
		t.Errorf("a proxy's 502: %v", err)
	}
	if _, err = c.Tokens(ctx); ripcord.ErrorCode(err) != ripcord.EINTERNAL || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a plain 500: %v", err)
	}
	if _, err = c.Audit(ctx, 0, 0); ripcord.ErrorCode(err) != ripcord.EINTERNAL || !strings.Contains(err.Error(), "302") {
		t.Errorf("a redirect is not followed: %v", err)
	}
	// Fields the client does not know are ignored: the server may add some.
	list, _, err := c.Executions(ctx, ExecutionFilter{})
	if err != nil || len(list) != 1 || list[0].ID != "a" {
		t.Errorf("executions: %v %v", list, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if err := c.Health(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}

	// Nobody listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c2, _ := New("http://"+addr, "")
	if err := c2.Health(ctx); ripcord.ErrorCode(err) != ripcord.EUNAVAILABLE || ripcord.ErrorHint(err) == "" {
		t.Errorf("no server: %v", err)
	}
}

// fakeStream serves scripted event streams, one script per connection,
// and records each connection's Last-Event-ID.
type fakeStream struct {
	mu      sync.Mutex
	scripts []func(w http.ResponseWriter)
	lastIDs []string
}

func (f *fakeStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.lastIDs)
	f.lastIDs = append(f.lastIDs, r.Header.Get("Last-Event-ID"))
	f.mu.Unlock()
	if n >= len(f.scripts) {
		<-r.Context().Done()
		return
	}
	f.scripts[n](w)
}

func events(w http.ResponseWriter, seqs ...int) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "retry: 1000\n\n: keepalive\n\n")
	for _, s := range seqs {
		fmt.Fprintf(w, "id: %d\ndata: {\"executionId\":\"x\",\"seq\":%d,\"type\":\"T\",\n", s, s) // data over two lines
		fmt.Fprintf(w, "data: \"actor\":\"engine\",\"at\":\"2026-01-01T00:00:00Z\"}\n\n")
	}
}

// TestFollowChecksSeqs: a repeated event is dropped, a gap or an error
// event makes the follower reconnect from its last event, an unavailable
// server is retried once connected, and every event is delivered once, in
// order.
func TestFollowChecksSeqs(t *testing.T) {
	f := &fakeStream{scripts: []func(w http.ResponseWriter){
		func(w http.ResponseWriter) { events(w, 1, 2, 2, 3) },                                     // a repeat, then the connection ends
		func(w http.ResponseWriter) { events(w, 5) },                                              // a gap: reconnect from 3
		func(w http.ResponseWriter) { http.Error(w, "restarting", 503) },                          // retried
		func(w http.ResponseWriter) { events(w, 4); fmt.Fprint(w, "event: error\ndata: {}\n\n") }, // reconnect from 4
		func(w http.ResponseWriter) { events(w, 5, 6) },
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, _ := New(srv.URL, "t", WithReconnect(time.Millisecond, 2*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []int64
	err := c.Follow(ctx, "x", 0, func(ev ripcord.Event) error {
		got = append(got, ev.Seq)
		if ev.Seq == 6 {
			return errors.New("enough")
		}
		return nil
	})
	if err == nil || err.Error() != "enough" {
		t.Fatalf("Follow returned %v", err)
	}
	if fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Fatalf("delivered %v", got)
	}
	if want := []string{"", "3", "3", "3", "4"}; fmt.Sprint(f.lastIDs) != fmt.Sprint(want) {
		t.Fatalf("Last-Event-IDs %q, want %q", f.lastIDs, want)
	}
}

func TestFollowFirstErrorEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"execution \"x\" not found","hint":""}}`)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "t")
	err := c.Follow(context.Background(), "x", 0, func(ripcord.Event) error { return nil })
	if ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Fatalf("Follow returned %v", err)
	}
}
